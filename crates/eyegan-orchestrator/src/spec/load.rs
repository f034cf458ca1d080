//! Reading an experiment file: TOML → [`Experiment`], with syntax, type and unknown-key errors
//! turned into `file:line:column: key: message`.

use std::path::Path;

use super::error::{Located, SpecError};
use super::location::{display_key, Seg, SourceMap};
use super::model::Experiment;
use super::validate::validate;

/// Reads, parses and checks the experiment file at `path`; relative folders in it are resolved
/// against the file's folder.
pub fn load_experiment(path: &Path) -> Result<Experiment, SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    parse_experiment(&text, &file, base)
}

/// Parses and checks experiment `text` named `file` (for messages); relative folders are
/// resolved against `base`.
pub fn parse_experiment(text: &str, file: &str, base: &Path) -> Result<Experiment, SpecError> {
    let map = SourceMap::new(text);
    let mut experiment: Experiment = toml::from_str(text).map_err(|error| {
        let (line, column, key) = match error.span() {
            Some(span) => {
                let (line, column) = map.line_column(span.start);
                let key = map
                    .key_at(span.start)
                    .map(|path| {
                        let segs: Vec<Seg<'_>> = path.iter().map(|k| Seg::Key(k)).collect();
                        display_key(&segs)
                    })
                    .unwrap_or_default();
                (Some(line), Some(column), key)
            }
            None => (None, None, String::new()),
        };
        SpecError::Invalid(Located {
            file: file.to_owned(),
            line,
            column,
            key,
            message: error.message().trim().to_owned(),
        })
    })?;
    validate(&mut experiment, &map, file, base)?;
    Ok(experiment)
}
