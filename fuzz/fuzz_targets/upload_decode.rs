//! Any bytes uploaded as an image: refused with an error or decoded, never a
//! panic, and never more pixels than the limit allows.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut config = halftone::config::MediaConfig::default();
    // Small limits keep each run fast; the checks are the same.
    config.max_pixels = 4_000_000;
    if let Ok(decoded) = halftone::media::decode::decode(data, &config, 800) {
        let pixels = u64::from(decoded.width) * u64::from(decoded.height);
        assert!(pixels <= config.max_pixels);
        assert!(decoded.image.width() <= decoded.width.max(1));
    }
});
