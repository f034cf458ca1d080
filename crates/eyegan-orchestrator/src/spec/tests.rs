//! Every kind of refused experiment file names its line and key (or path).

use std::path::Path;

use super::*;

const MINIMAL: &str = "version = 1\n\n[dataset.phantom]\nper_class = 10\n";

fn refuse(text: &str) -> Located {
    refuse_in(text, Path::new("."))
}

fn refuse_in(text: &str, base: &Path) -> Located {
    match parse_experiment(text, "experiment.toml", base) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => {
            let located = error.located().unwrap().clone();
            assert!(error.to_string().starts_with("experiment.toml:"), "{error}");
            located
        }
    }
}

#[test]
fn minimal_file_gets_working_defaults() {
    let experiment = parse_experiment(MINIMAL, "x.toml", Path::new(".")).unwrap();
    assert_eq!(experiment.seeds, vec![1]);
    assert_eq!(experiment.arms, vec![Arm::Baseline, Arm::Gan]);
    assert_eq!(experiment.split.train, 0.7);
    assert_eq!(
        experiment.gan.length(),
        GanLength::Iterations(DEFAULT_GAN_ITERATIONS)
    );
    assert_eq!(
        experiment.generation.rule(),
        ScoreRule::Preset(FilterPreset::PaperCode)
    );
    assert_eq!(experiment.services.mode, ServicesMode::Embedded);
}

#[test]
fn wrong_type_names_line_and_key() {
    let located = refuse(
        "version = 1\n\n[dataset]\nimage_size = \"big\"\n[dataset.phantom]\nper_class = 10\n",
    );
    assert_eq!(located.line, Some(4));
    assert_eq!(located.key, "[dataset].image_size");
    assert!(
        located.message.contains("invalid type"),
        "{}",
        located.message
    );
}

#[test]
fn unknown_key_names_line_and_key() {
    let located = refuse("version = 1\n\n[dataset.phantom]\nper_class = 10\n\n[gan]\nepochz = 3\n");
    assert_eq!(located.line, Some(7));
    assert_eq!(located.key, "[gan].epochz");
    assert!(
        located.message.contains("unknown field"),
        "{}",
        located.message
    );
}

#[test]
fn syntax_error_names_line() {
    let located = refuse("version = 1\nseeds = [1,\n[dataset.phantom]\n");
    assert!(located.line.is_some_and(|line| line >= 2), "{located}");
}

#[test]
fn missing_folder_names_line_key_and_path() {
    let located = refuse("version = 1\n\n[dataset.folder]\npath = \"/no/such/eyes\"\n");
    assert_eq!(located.line, Some(4));
    assert_eq!(located.key, "[dataset.folder].path");
    assert!(
        located.message.contains("/no/such/eyes"),
        "{}",
        located.message
    );
}

#[test]
fn class_absent_from_folder_names_the_class() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("eyes/normal")).unwrap();
    let text = "version = 1\n[dataset]\nclasses = [\"normal\", \"glaucoma\"]\n[dataset.folder]\npath = \"eyes\"\n";
    let located = refuse_in(text, root.path());
    assert_eq!(located.line, Some(3));
    assert_eq!(located.key, "[dataset].classes[1]");
    assert!(
        located.message.contains("\"glaucoma\""),
        "{}",
        located.message
    );
    let ok = "version = 1\n[dataset]\nclasses = [\"normal\"]\n[dataset.folder]\npath = \"eyes\"\n";
    let experiment = parse_experiment(ok, "x.toml", root.path()).unwrap();
    assert!(experiment.dataset.folder.unwrap().path.is_absolute());
}

#[test]
fn ratios_not_summing_to_one_are_refused() {
    let located = refuse(&format!(
        "{MINIMAL}\n[split]\ntrain = 0.5\nval = 0.1\ntest = 0.1\n"
    ));
    assert_eq!(located.line, Some(6));
    assert_eq!(located.key, "split");
    assert!(located.message.contains("not 1"), "{}", located.message);
}

#[test]
fn augmentations_the_classifier_refuses_are_refused_here() {
    let section = "\n[classifier.classical]\n";
    let located = refuse(&format!("{MINIMAL}{section}vertical_flip = true\n"));
    assert_eq!(located.line, Some(7));
    assert!(located.key.ends_with("vertical_flip"), "{}", located.key);
    let located = refuse(&format!("{MINIMAL}{section}rotation_degrees = 90.0\n"));
    assert!(located.key.ends_with("rotation_degrees"), "{}", located.key);
    assert!(located.message.contains("45"), "{}", located.message);
}

#[test]
fn empty_seed_list_is_refused() {
    let located = refuse(&format!("seeds = []\n{MINIMAL}"));
    assert_eq!((located.line, located.key.as_str()), (Some(1), "seeds"));
}

#[test]
fn unknown_filter_preset_is_refused() {
    let located = refuse(&format!("{MINIMAL}\n[generation]\nfilter = \"strict\"\n"));
    assert_eq!(located.line, Some(7));
    assert_eq!(located.key, "[generation].filter");
}

#[test]
fn unsupported_version_and_phantom_class_are_refused() {
    let located = refuse("version = 2\n[dataset.phantom]\nper_class = 10\n");
    assert_eq!((located.line, located.key.as_str()), (Some(1), "version"));
    let located = refuse(
        "version = 1\n[dataset]\nclasses = [\"cataract\"]\n[dataset.phantom]\nper_class = 10\n",
    );
    assert_eq!(located.key, "[dataset].classes[0]");
    assert!(located.message.contains("cataract"));
}

#[test]
fn conflicting_and_missing_choices_are_refused() {
    let located = refuse(&format!("{MINIMAL}[gan]\nepochs = 3\niterations = 4\n"));
    assert_eq!(located.key, "[gan].iterations");
    let located = refuse("version = 1\n[dataset]\nimage_size = 32\n");
    assert_eq!(located.key, "dataset");
    let located = refuse(&format!("arms = [\"gan\"]\n{MINIMAL}"));
    assert!(located.message.contains("baseline"));
    let located = refuse(&format!(
        "{MINIMAL}[services]\nmode = \"remote\"\ndataset = \"http://a:1\"\n"
    ));
    assert_eq!(located.key, "[services].generator");
}

#[test]
fn every_example_validates() {
    for example in crate::examples::EXAMPLES {
        let base = tempfile::tempdir().unwrap();
        for class in ["diabetic_retinopathy", "glaucoma", "normal"] {
            std::fs::create_dir_all(base.path().join("data/eyes").join(class)).unwrap();
        }
        let file = format!("{}.toml", example.name);
        if let Err(error) = parse_experiment(example.text, &file, base.path()) {
            panic!("{error}");
        }
    }
}
