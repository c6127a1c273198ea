//! Editor websocket frames: parsed or refused with a message, and a save's
//! draft validated, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(halftone::admin::ws::ClientMessage::Save { draft, .. }) =
        halftone::admin::ws::parse_message(text)
    {
        let _ = draft.validate();
    }
});
