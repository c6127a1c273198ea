//! File names as cartoonists write them: parsing never panics, keeps a base,
//! and the natural order is a total order (antisymmetric, reflexive).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    let name = halftone::import::naming::parse(a);
    assert!(a.starts_with(&name.base) || name.base.is_empty() || a.contains(&name.base));
    use halftone::import::naming::natural_cmp;
    assert_eq!(natural_cmp(a, a), std::cmp::Ordering::Equal);
    assert_eq!(natural_cmp(a, b), natural_cmp(b, a).reverse());
});
