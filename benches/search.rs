//! Search benchmark: a 5,000-page archive with long transcripts. Prints the
//! index build time and query latency (p50/p99) for one- and two-word
//! queries, beside a naive scan of the same text (what `LIKE '%…%'` does)
//! measured in the same run.
//!
//! usage: cargo bench --bench search

use std::time::{Duration, Instant};

use halftone::search::{BuiltIndex, SearchDoc};

const PAGES: usize = 5_000;
const TRANSCRIPT_WORDS: usize = 400;

/// A deterministic generator, so every run searches the same archive.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn vocabulary() -> Vec<String> {
    let syllables = [
        "ka", "ro", "mi", "dra", "gon", "le", "tu", "sen", "bo", "ri", "na", "ph", "el", "zar",
        "qui", "ost",
    ];
    let mut words = Vec::new();
    for a in syllables {
        for b in syllables {
            for c in ["", "n", "s", "th", "ra"] {
                words.push(format!("{a}{b}{c}"));
            }
        }
    }
    words
}

fn corpus() -> (Vec<SearchDoc>, Vec<String>) {
    let words = vocabulary();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Zipf-like: low indexes far more common, like real text.
    let pick = |rng: &mut Rng| {
        let r = (rng.next() % 1_000_000) as f64 / 1_000_000.0;
        let i = ((words.len() as f64).powf(r) - 1.0) as usize;
        words[i.min(words.len() - 1)].clone()
    };
    let docs = (0..PAGES)
        .map(|i| {
            let transcript: Vec<String> = (0..TRANSCRIPT_WORDS).map(|_| pick(&mut rng)).collect();
            let notes: Vec<String> = (0..60).map(|_| pick(&mut rng)).collect();
            SearchDoc {
                id: i as i64 + 1,
                series_id: 1,
                title: format!("{} {}", pick(&mut rng), pick(&mut rng)),
                transcript: transcript.join(" "),
                images: format!("{} {} {}", pick(&mut rng), pick(&mut rng), pick(&mut rng)),
                notes: notes.join(" "),
                labels: format!("chapter {} {}", i / 50, pick(&mut rng)),
                live_at: 0,
            }
        })
        .collect();
    let queries = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                pick(&mut rng)
            } else {
                format!("{} {}", pick(&mut rng), pick(&mut rng))
            }
        })
        .collect();
    (docs, queries)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut times: Vec<Duration>, baseline_p50: Option<Duration>) -> Duration {
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let ratio = baseline_p50.map_or("1.00× (baseline)".to_owned(), |b| {
        format!("{:.0}× faster", b.as_secs_f64() / p50.as_secs_f64())
    });
    println!(
        "{name:<44} p50 {:>9.3} ms   p99 {:>9.3} ms   {ratio}",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    p50
}

fn main() {
    let (docs, queries) = corpus();
    let bytes: usize = docs
        .iter()
        .map(|d| d.transcript.len() + d.notes.len() + d.title.len())
        .sum();
    println!(
        "archive: {PAGES} pages, {:.1} MB of text, {} queries (half one word, half two)\n",
        bytes as f64 / 1e6,
        queries.len()
    );

    let started = Instant::now();
    let index = BuiltIndex::build(&docs).expect("build");
    println!(
        "index build: {:.2} s ({} documents)\n",
        started.elapsed().as_secs_f64(),
        index.len()
    );

    // Baseline: a case-insensitive substring scan over every page.
    let lowered: Vec<String> = docs
        .iter()
        .map(|d| format!("{} {} {}", d.title, d.transcript, d.notes).to_lowercase())
        .collect();
    let scan: Vec<Duration> = queries
        .iter()
        .take(40)
        .map(|q| {
            let started = Instant::now();
            let words: Vec<String> = q.split(' ').map(str::to_lowercase).collect();
            let hits = lowered
                .iter()
                .filter(|t| words.iter().all(|w| t.contains(w.as_str())))
                .count();
            std::hint::black_box(hits);
            started.elapsed()
        })
        .collect();
    let base = report("naive scan (LIKE '%…%' in memory)", scan, None);

    for (label, filter) in [("one-word queries", 1usize), ("two-word queries", 2usize)] {
        let mut times = Vec::new();
        for _ in 0..5 {
            for q in queries.iter().filter(|q| q.split(' ').count() == filter) {
                let started = Instant::now();
                let results = index.search(q, 1, None, 0, 10).expect("search");
                std::hint::black_box(results.total);
                times.push(started.elapsed());
            }
        }
        report(
            &format!("tantivy, {label} (top 10 + snippets)"),
            times,
            Some(base),
        );
    }
    let mut typo = Vec::new();
    for q in queries.iter().take(100) {
        let misspelt = format!("{}x", q.split(' ').next().unwrap_or(q));
        let started = Instant::now();
        std::hint::black_box(
            index
                .search(&misspelt, 1, None, 0, 10)
                .expect("search")
                .total,
        );
        typo.push(started.elapsed());
    }
    report("tantivy, a misspelt word", typo, Some(base));

    // The worst a reader can send: 40 quoted parts of long words, each word
    // one typo from many (the parser keeps twelve words in all).
    let mut worst = Vec::new();
    for q in queries.iter().take(50) {
        let word = q.split(' ').next().unwrap_or(q);
        let hostile = (0..40)
            .map(|i| format!("\"{word}x{i} {word}y {word}z\""))
            .collect::<Vec<_>>()
            .join(" ");
        let started = Instant::now();
        std::hint::black_box(
            index
                .search(&hostile, 1, None, 0, 10)
                .expect("search")
                .total,
        );
        worst.push(started.elapsed());
    }
    report("tantivy, 40 quoted parts (worst case)", worst, Some(base));
}
