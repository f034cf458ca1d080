//! The protobuf `ScoreFilter` as an `eyegan_nn::FilterPreset`.

use eyegan_nn::FilterPreset;
use eyegan_proto::common::v1::{score_filter::Rule, FilterPreset as ProtoPreset, ScoreFilter};
use eyegan_service::ServiceError;

/// Converts a request's filter; unset (or an unset rule / FILTER_PRESET_UNSPECIFIED) gives
/// `default`. INVALID_ARGUMENT naming `field` (e.g. `filter.min_score`) for an unknown preset or
/// a min score that is not a finite number in [0, 1].
pub fn filter_from_proto(
    filter: Option<&ScoreFilter>,
    default: FilterPreset,
    field: &str,
) -> Result<FilterPreset, ServiceError> {
    let Some(rule) = filter.and_then(|filter| filter.rule) else {
        return Ok(default);
    };
    match rule {
        Rule::Preset(value) => match ProtoPreset::try_from(value) {
            Ok(ProtoPreset::Unspecified) => Ok(default),
            Ok(ProtoPreset::PaperCode) => Ok(FilterPreset::PaperCode),
            Ok(ProtoPreset::PaperText) => Ok(FilterPreset::PaperText),
            Ok(ProtoPreset::None) => Ok(FilterPreset::None),
            Err(_) => Err(ServiceError::invalid_argument(
                format!("{field}.preset"),
                format!("{value} is not a FilterPreset"),
            )),
        },
        Rule::MinScore(score) => {
            if !(score.is_finite() && (0.0..=1.0).contains(&score)) {
                return Err(ServiceError::invalid_argument(
                    format!("{field}.min_score"),
                    format!("must be a finite number in [0, 1], got {score}"),
                ));
            }
            Ok(FilterPreset::MinScore(score as f32))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rule: Rule) -> Option<ScoreFilter> {
        Some(ScoreFilter { rule: Some(rule) })
    }

    #[test]
    fn presets_numbers_and_defaults_convert() {
        let default = FilterPreset::PaperCode;
        assert_eq!(filter_from_proto(None, default, "filter").unwrap(), default);
        let none = rule(Rule::Preset(ProtoPreset::None as i32));
        assert_eq!(
            filter_from_proto(none.as_ref(), default, "filter").unwrap(),
            FilterPreset::None
        );
        let text = rule(Rule::Preset(ProtoPreset::PaperText as i32));
        assert_eq!(
            filter_from_proto(text.as_ref(), FilterPreset::None, "filter").unwrap(),
            FilterPreset::PaperText
        );
        let unset = rule(Rule::Preset(0));
        assert_eq!(
            filter_from_proto(unset.as_ref(), default, "filter").unwrap(),
            default
        );
        let number = rule(Rule::MinScore(0.25));
        assert_eq!(
            filter_from_proto(number.as_ref(), default, "filter").unwrap(),
            FilterPreset::MinScore(0.25)
        );
    }

    #[test]
    fn bad_rules_name_the_field() {
        for bad in [
            Rule::MinScore(f64::NAN),
            Rule::MinScore(1.5),
            Rule::MinScore(-0.1),
        ] {
            let error = filter_from_proto(rule(bad).as_ref(), FilterPreset::None, "filter")
                .unwrap_err()
                .to_string();
            assert!(error.contains("filter.min_score"), "{error}");
        }
        let error = filter_from_proto(
            rule(Rule::Preset(99)).as_ref(),
            FilterPreset::None,
            "filter",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("filter.preset"), "{error}");
    }
}
