//! Maps byte offsets and key paths of an experiment file to lines, columns and printable keys,
//! so that both TOML errors (which carry spans) and meaning checks (which know a key path) can
//! say where the problem is.

use std::ops::Range;

use toml_edit::{Document, Item, Value};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A key.
    Key(&'a str),
    /// An array element.
    Index(usize),
}

/// The text of an experiment file with its parsed layout.
#[derive(Debug)]
pub struct SourceMap {
    text: String,
    document: Option<Document<String>>,
}

impl SourceMap {
    /// Parses `text` for locations (a syntax error leaves only offset → line mapping).
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            document: Document::parse(text.to_owned()).ok(),
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, column)
    }

    /// Span of the value at `path` (or of its key when the value has none).
    pub fn span_of(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        let document = self.document.as_ref()?;
        let mut item: &Item = document.as_item();
        let mut key_span = None;
        let mut value: Option<&Value> = None;
        for seg in path {
            match (seg, value) {
                (Seg::Key(name), None) => {
                    let table = item.as_table_like()?;
                    let (key, next) = table.get_key_value(name)?;
                    key_span = key.span();
                    item = next;
                    value = item.as_value();
                }
                (Seg::Key(name), Some(current)) => {
                    let table = current.as_inline_table()?;
                    let (key, next) = table.get_key_value(name)?;
                    key_span = key.span();
                    value = next.as_value();
                    item = next;
                }
                (Seg::Index(index), Some(current)) => {
                    let element = current.as_array()?.get(*index)?;
                    return element.span().or(key_span);
                }
                (Seg::Index(index), None) => {
                    let table = item.as_array_of_tables()?.get(*index)?;
                    return table.span().or(key_span);
                }
            }
        }
        value
            .and_then(Value::span)
            .or_else(|| item.span())
            .or(key_span)
    }

    /// The deepest key path whose key or value contains `offset`.
    pub fn key_at(&self, offset: usize) -> Option<Vec<String>> {
        let document = self.document.as_ref()?;
        let mut path = Vec::new();
        let mut table = document.as_item().as_table_like()?;
        'descend: loop {
            for (name, item) in table.iter() {
                let key_span = table.get_key_value(name).and_then(|(key, _)| key.span());
                let inside = |span: Option<Range<usize>>| span.is_some_and(|s| s.contains(&offset));
                if inside(key_span) || inside(item.span()) {
                    path.push(name.to_owned());
                    if let Some(inner) = item.as_table_like() {
                        table = inner;
                        continue 'descend;
                    }
                    return Some(path);
                }
                if let Some(inner) = item.as_table() {
                    if inner.iter().any(|(_, child)| inside(child.span()))
                        || inner
                            .iter()
                            .any(|(k, _)| inside(inner.key(k).and_then(|key| key.span())))
                    {
                        path.push(name.to_owned());
                        table = inner;
                        continue 'descend;
                    }
                }
            }
            return if path.is_empty() { None } else { Some(path) };
        }
    }
}

/// Prints a key path the way the file spells it: `seeds`, `[dataset.folder].path`, `seeds[1]`.
pub fn display_key(path: &[Seg<'_>]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|seg| match seg {
            Seg::Key(name) => Some(*name),
            Seg::Index(_) => None,
        })
        .collect();
    let index_suffix: String = path
        .iter()
        .filter_map(|seg| match seg {
            Seg::Index(index) => Some(format!("[{index}]")),
            Seg::Key(_) => None,
        })
        .collect();
    match keys.split_last() {
        None => String::new(),
        Some((last, [])) => format!("{last}{index_suffix}"),
        Some((last, tables)) => format!("[{}].{last}{index_suffix}", tables.join(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "version = 1\nseeds = [1, 2]\n\n[dataset]\nimage_size = 32\n[dataset.folder]\npath = \"/x\"\n";

    #[test]
    fn span_of_nested_key_gives_its_line() {
        let map = SourceMap::new(TEXT);
        let span = map
            .span_of(&[Seg::Key("dataset"), Seg::Key("folder"), Seg::Key("path")])
            .unwrap();
        assert_eq!(map.line_column(span.start), (7, 8));
        let span = map.span_of(&[Seg::Key("seeds"), Seg::Index(1)]).unwrap();
        assert_eq!(map.line_column(span.start), (2, 13));
    }

    #[test]
    fn key_at_finds_the_key_under_an_offset() {
        let map = SourceMap::new(TEXT);
        let offset = TEXT.find("32").unwrap();
        assert_eq!(map.key_at(offset).unwrap(), vec!["dataset", "image_size"]);
    }

    #[test]
    fn keys_print_like_the_file() {
        assert_eq!(display_key(&[Seg::Key("seeds"), Seg::Index(0)]), "seeds[0]");
        assert_eq!(
            display_key(&[Seg::Key("dataset"), Seg::Key("folder"), Seg::Key("path")]),
            "[dataset.folder].path"
        );
    }
}
