//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `name`, if it is close enough to be a plausible typo.
#[must_use]
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|&(distance, c)| distance > 0 && distance <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|&(distance, c)| (distance, c))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the nearest candidate, if any is close.
#[must_use]
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(name, candidates).map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_letter_typo_finds_its_name() {
        assert_eq!(did_you_mean("drum", ["drums", "music"]), Some("drums"));
        assert_eq!(did_you_mean("verbb", ["verb", "hall"]), Some("verb"));
    }

    #[test]
    fn an_unrelated_name_suggests_nothing() {
        assert_eq!(did_you_mean("guitar", ["drums", "music"]), None);
    }
}
