//! Author text through Markdown and the sanitizer: no script, no event
//! handler, no javascript: link ever comes out.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = halftone::render::markdown::to_html(text).to_ascii_lowercase();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    assert!(!html.contains(" onerror=") && !html.contains(" onload="), "{html}");
    let _ = halftone::render::markdown::to_text(text, 200);
});
