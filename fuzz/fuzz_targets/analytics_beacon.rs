//! A beacon body as a browser (or anyone) sends it: parsed and classified,
//! or refused, never a panic; what is kept has no raw address or agent.
#![no_main]
use libfuzzer_sys::fuzz_target;

use halftone_analytics::hit::{self, Beacon, Client};

fuzz_target!(|data: &[u8]| {
    let Ok(beacon) = serde_json::from_slice::<Beacon>(data) else {
        return;
    };
    let ids = halftone_analytics::salt::VisitorIds {
        today: 42,
        previous: None,
    };
    let client = Client {
        ua: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        site_host: Some("comic.example"),
    };
    if let Ok(record) = hit::from_beacon(&beacon, &client, &ids, 1_700_000_000) {
        assert!(record.path.starts_with('/'), "{}", record.path);
        assert!(record.path.len() <= 1024);
    }
});
