//! Fuzzy name matching for the "Perhaps you meant …" hints of PGRST205 (table) and PGRST202
//! (function).
//!
//! The score is the Sørensen–Dice coefficient of the two names' character bigrams, compared
//! case-insensitively with the names padded by a space on each side (so first and last letters
//! count as much as inner ones): `2·|common bigrams| / (|bigrams a| + |bigrams b|)`, from 0 to 1.
//! A name is suggested when it scores at least [`THRESHOLD`]; the best score wins, ties go to the
//! alphabetically first name. `projcts` → `projects` scores 0.82, `projets` → `projects` 0.82,
//! `users` → `projects` 0.13.

/// Minimum similarity for a suggestion, about PostgREST's fuzzy-set cut-off.
pub const THRESHOLD: f64 = 0.4;

pub fn bigrams(name: &str) -> Vec<(char, char)> {
    let padded: Vec<char> = std::iter::once(' ')
        .chain(name.chars().flat_map(char::to_lowercase))
        .chain(std::iter::once(' '))
        .collect();
    let mut grams: Vec<(char, char)> = padded.windows(2).map(|w| (w[0], w[1])).collect();
    grams.sort_unstable();
    grams
}

/// Dice similarity of two sorted bigram multisets.
pub fn similarity(a: &[(char, char)], b: &[(char, char)]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    // Both have at least one bigram (the padding), so the sum is never 0.
    2.0 * common as f64 / (a.len() + b.len()) as f64
}

/// The candidate most similar to `name`, if any reaches the threshold.
pub fn best_match<'a, T>(name: &str, candidates: impl Iterator<Item = (&'a str, T)>) -> Option<T> {
    let wanted = bigrams(name);
    let mut best: Option<(f64, &str, T)> = None;
    for (candidate, item) in candidates {
        let score = similarity(&wanted, &bigrams(candidate));
        let better = match &best {
            None => true,
            Some((s, n, _)) => score > *s || (score == *s && candidate < *n),
        };
        if score >= THRESHOLD && better {
            best = Some((score, candidate, item));
        }
    }
    best.map(|(_, _, item)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(a: &str, b: &str) -> f64 {
        similarity(&bigrams(a), &bigrams(b))
    }

    #[test]
    fn scores() {
        assert_eq!(score("projects", "projects"), 1.0);
        assert_eq!(score("Projects", "projects"), 1.0);
        assert!((score("projcts", "projects") - 14.0 / 17.0).abs() < 1e-9);
        assert!((score("projets", "projects") - 14.0 / 17.0).abs() < 1e-9);
        assert!((score("users", "projects") - 2.0 / 15.0).abs() < 1e-9);
        assert!(score("users", "projects") < THRESHOLD);
    }

    #[test]
    fn picks_the_best_above_threshold() {
        let names = ["clients", "projects", "project_names", "tasks"];
        assert_eq!(
            best_match("projcts", names.iter().map(|n| (*n, *n))),
            Some("projects")
        );
        assert_eq!(best_match("task", names.iter().map(|n| (*n, *n))), Some("tasks"));
        assert_eq!(best_match("zzz", names.iter().map(|n| (*n, *n))), None);
        assert_eq!(best_match("x", std::iter::empty::<(&str, ())>()), None);
    }
}
