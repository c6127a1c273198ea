//! `halftone demo`: a generated comic, "The Paper Lighthouse", so a new
//! site has something to show. Three chapters, a long-scroll page in slices,
//! a two-page spread, a cast with portraits, About and Links pages, and one
//! page scheduled for tomorrow (to show that it stays hidden until then).

mod draw;

use anyhow::Context;
use rayon::prelude::*;

use crate::comics;
use crate::config::Config;
use crate::db::Db;
use crate::import::{write_pages, ChapterSpec, ReadyImage, ReadyPage, Target};
use crate::media;

const PAGE_W: u32 = 900;
const PAGE_H: u32 = 1280;

struct DemoChapter {
    slug: &'static str,
    title: &'static str,
    description: &'static str,
    mood: draw::Mood,
    pages: u32,
}

const CHAPTERS: &[DemoChapter] = &[
    DemoChapter {
        slug: "fog",
        title: "Chapter 1: Fog",
        description: "Marlo keeps the lighthouse. Pip folds boats. The fog rolls in.",
        mood: draw::FOG,
        pages: 11,
    },
    DemoChapter {
        slug: "the-storm",
        title: "Chapter 2: The Storm",
        description: "A storm the size of the sky, and a paper boat that will not sink.",
        mood: draw::STORM,
        pages: 12,
    },
    DemoChapter {
        slug: "harbour-lights",
        title: "Chapter 3: Harbour Lights",
        description: "Everyone comes home. Almost everyone.",
        mood: draw::HARBOUR,
        pages: 10,
    },
];

const CAST: &[(&str, &str, [u8; 3])] = &[
    ("Marlo", "Keeper of the paper lighthouse. Talks to the lamp. The lamp, so far, has not answered.", [232, 96, 76]),
    ("Pip", "Folds boats from old letters and sends them out to sea. Believes every one arrives somewhere.", [240, 200, 80]),
    ("Juniper", "A seagull with opinions, most of them about fish.", [88, 160, 112]),
];

const TITLES: &[&str] = &[
    "Lamp Oil",
    "The Fold",
    "Letters",
    "Low Tide",
    "Juniper Objects",
    "A Long Night",
    "Signals",
    "Something on the Water",
    "Ropes",
    "The Keeper's Log",
    "Salt",
    "Knots",
    "Gulls",
];

/// Adds the demo unless the site already has pages.
pub async fn fill_if_empty(config: &Config, db: &Db) -> anyhow::Result<()> {
    if comics::pages::count_all(db).await? > 0 {
        tracing::info!("the site already has pages; not adding the demo comic");
        return Ok(());
    }
    fill(config, db).await
}

#[tracing::instrument(skip_all)]
pub async fn fill(config: &Config, db: &Db) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let media_config = config.media.clone();
    let store = media::store::MediaStore::open(config)?;
    let runtime = tokio::runtime::Handle::current();
    // Draw and process on the blocking pool, in parallel.
    let (pages, portraits) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let specs = page_specs();
        let pages = specs
            .into_par_iter()
            .map(|spec| build_page(spec, &media_config, (&store, &runtime)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let portraits = CAST
            .par_iter()
            .enumerate()
            .map(|(i, (_, _, color))| {
                let img = draw::portrait(480, *color, i as u64 + 99);
                let processed = media::process(&draw::png_bytes(&img), &media_config)?;
                store.write_processed_blocking(&runtime, &processed)?;
                Ok(processed)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((pages, portraits))
    })
    .await
    .context("drawing the demo crashed")??;

    let now = crate::db::now();
    let (live, scheduled): (Vec<_>, Vec<_>) = pages
        .into_iter()
        .partition(|p| p.published_at.is_none_or(|t| t <= now));
    let target = Target {
        series: None,
        publish: true,
        backfill: true,
    };
    {
        let mut tx = db.pool().begin().await?;
        if comics::series::primary(&mut tx).await?.is_none() {
            comics::series::insert(
                &mut tx,
                &comics::series::NewSeries {
                    slug: "the-paper-lighthouse",
                    title: "The Paper Lighthouse",
                    tagline: "A small comic about a big storm",
                    description:
                        "A lighthouse keeper, a boy who folds boats, and a gull with opinions.",
                },
            )
            .await?;
        }
        for (name, value) in [
            ("site.title", "The Paper Lighthouse"),
            ("site.tagline", "A small comic about a big storm"),
            ("site.description", "A webcomic about a lighthouse keeper, a boy who folds paper boats, and a storm. Made with Halftone."),
            ("site.author", "The Halftone demo"),
        ] {
            comics::settings::set(&mut tx, name, value).await?;
        }
        tx.commit().await?;
    }
    write_pages(db, &target, live).await?;
    // The scheduled page goes in "now" (not backfilled): it goes live tomorrow.
    write_pages(
        db,
        &Target {
            backfill: false,
            ..target
        },
        scheduled,
    )
    .await?;

    let mut tx = db.pool().begin().await?;
    for (i, ((name, bio, _), portrait)) in CAST.iter().zip(&portraits).enumerate() {
        let slug = comics::Slug::from_text(name).context("cast slug")?;
        let id = comics::taxonomy::ensure_character(&mut tx, slug.as_str(), name).await?;
        let media = media::store::insert_or_find(&mut tx, portrait).await?;
        comics::taxonomy::update_character(&mut tx, id, bio, i as i64, Some(media)).await?;
    }
    if comics::static_pages::by_slug(db, "about").await?.is_none() {
        comics::static_pages::insert(&mut tx, "about", "About", ABOUT).await?;
        comics::static_pages::insert(&mut tx, "links", "Links", LINKS).await?;
    }
    tx.commit().await?;
    tracing::info!(secs = started.elapsed().as_secs_f64(), "demo comic added");
    Ok(())
}

/// Grows the archive to `total` pages with reruns of the demo's drawings
/// (in chapters of 100), for trying the site with a large archive.
pub async fn grow(config: &Config, db: &Db, total: usize) -> anyhow::Result<()> {
    let existing = usize::try_from(comics::pages::count_all(db).await?).unwrap_or(0);
    if existing >= total {
        return Ok(());
    }
    let media_config = config.media.clone();
    let store = media::store::MediaStore::open(config)?;
    let runtime = tokio::runtime::Handle::current();
    let drawings = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<media::Processed>> {
        (0..6u64)
            .map(|i| {
                let img = draw::page(
                    PAGE_W,
                    PAGE_H,
                    [draw::FOG, draw::STORM, draw::HARBOUR][i as usize % 3],
                    4242 + i,
                );
                let mut processed = media::process(&draw::png_bytes(&img), &media_config)?;
                store.write_processed_blocking(&runtime, &processed)?;
                processed.files.clear();
                Ok(processed)
            })
            .collect()
    })
    .await??;
    let now = crate::db::now();
    let missing = total - existing;
    let pages = (0..missing)
        .map(|i| {
            let source = &drawings[i % drawings.len()];
            let number = existing + i + 1;
            let chapter = i / 100 + 1;
            ReadyPage {
                chapter: Some(ChapterSpec {
                    volume: Some("Reruns".to_owned()),
                    slug: format!("reruns-{chapter}"),
                    title: format!("Reruns, part {chapter}"),
                    description: "The demo's drawings again, to fill a large archive.".to_owned(),
                }),
                slug: format!("rerun-{number}"),
                title: format!("{} (rerun {number})", TITLES[i % TITLES.len()]),
                published_at: Some(now - (missing - i) as i64 * 3600),
                hide_date: false,
                draft: false,
                hover_text: format!("Rerun {number}."),
                transcript: format!("Panel 1: The sea again.\nMARLO: Rerun number {number}."),
                notes: format!("Rerun **{number}** of the demo."),
                content_warning: String::new(),
                tags: vec![["sea", "lighthouse", "weather"][i % 3].to_owned()],
                characters: vec![CAST[i % CAST.len()].0.to_owned()],
                images: vec![ReadyImage {
                    processed: clone_processed(source),
                    alt: format!("Rerun {number}: the sea and the lighthouse."),
                }],
            }
        })
        .collect();
    write_pages(
        db,
        &Target {
            series: None,
            publish: true,
            backfill: true,
        },
        pages,
    )
    .await?;
    tracing::info!(total, "demo archive grown");
    Ok(())
}

fn clone_processed(p: &media::Processed) -> media::Processed {
    media::Processed {
        hash: p.hash.clone(),
        width: p.width,
        height: p.height,
        source_format: p.source_format,
        widths: p.widths.clone(),
        fallback_ext: p.fallback_ext,
        thumb_width: p.thumb_width,
        thumb_height: p.thumb_height,
        source_bytes: p.source_bytes,
        files: Vec::new(),
    }
}

/// What each demo page is, before drawing.
struct PageSpec {
    index: u32,
    chapter: usize,
    kind: Kind,
    published_at: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Page,
    Spread,
    LongScroll,
}

fn page_specs() -> Vec<PageSpec> {
    let day = 86_400;
    let total: u32 = CHAPTERS.iter().map(|c| c.pages).sum();
    // Twice a week, ending today; the last page is scheduled for tomorrow.
    let today = crate::db::now() / day * day + 9 * 3600;
    let mut specs = Vec::new();
    let mut index = 0;
    for (chapter, c) in CHAPTERS.iter().enumerate() {
        for n in 0..c.pages {
            let kind = match (chapter, n) {
                (1, 5) => Kind::LongScroll,
                (2, 4) => Kind::Spread,
                _ => Kind::Page,
            };
            let back = i64::from(total - 1 - index);
            specs.push(PageSpec {
                index,
                chapter,
                kind,
                published_at: today - back * 3 * day - day,
            });
            index += 1;
        }
    }
    if let Some(last) = specs.last_mut() {
        last.published_at = today + day;
    }
    specs
}

fn build_page(
    spec: PageSpec,
    config: &crate::config::MediaConfig,
    (store, runtime): (&media::store::MediaStore, &tokio::runtime::Handle),
) -> anyhow::Result<ReadyPage> {
    let chapter = &CHAPTERS[spec.chapter];
    let seed = u64::from(spec.index) * 7919 + 17;
    let drawings = match spec.kind {
        Kind::Page => vec![draw::page(PAGE_W, PAGE_H, chapter.mood, seed)],
        Kind::Spread => vec![draw::strip(PAGE_W * 2, PAGE_H * 3 / 4, chapter.mood, seed)],
        Kind::LongScroll => (0..3)
            .map(|i| draw::strip(PAGE_W, PAGE_H, chapter.mood, seed + i))
            .collect(),
    };
    let mut images = Vec::new();
    for (i, drawing) in drawings.iter().enumerate() {
        let mut processed = media::process(&draw::png_bytes(drawing), config)?;
        store.write_processed_blocking(runtime, &processed)?;
        processed.files.clear();
        let alt = match spec.kind {
            Kind::LongScroll => format!(
                "Part {} of a long scroll: the storm over the sea, seen from ever lower.",
                i + 1
            ),
            Kind::Spread => {
                "A two-page spread: the whole harbour at dusk, every window lit.".to_owned()
            }
            Kind::Page => format!(
                "Comic page {}: panels of the sea, the lighthouse and the characters talking.",
                spec.index + 1
            ),
        };
        images.push(ReadyImage { processed, alt });
    }
    let title = match spec.kind {
        Kind::LongScroll => "Going Under".to_owned(),
        Kind::Spread => "The Whole Harbour".to_owned(),
        Kind::Page => TITLES[spec.index as usize % TITLES.len()].to_owned(),
    };
    let number = spec.index + 1;
    let cast: Vec<String> = CAST
        .iter()
        .enumerate()
        .filter(|(i, _)| (spec.index as usize + i) % 3 != 2)
        .map(|(_, (name, _, _))| (*name).to_owned())
        .collect();
    let mut tags = vec![["sea", "lighthouse", "weather"][spec.index as usize % 3].to_owned()];
    if spec.kind != Kind::Page {
        tags.push(
            if spec.kind == Kind::Spread {
                "spread"
            } else {
                "long scroll"
            }
            .to_owned(),
        );
    }
    Ok(ReadyPage {
        chapter: Some(ChapterSpec {
            volume: None,
            slug: chapter.slug.to_owned(),
            title: chapter.title.to_owned(),
            description: chapter.description.to_owned(),
        }),
        slug: format!("page-{number}"),
        title: format!("{title} ({number})"),
        published_at: Some(spec.published_at),
        hide_date: false,
                draft: false,
        hover_text: format!("Marlo's log, entry {number}: the lamp is still lit."),
        transcript: format!(
            "Panel 1: The sea. Waves roll in.\nMARLO: Another night, Pip.\nPIP: Another boat, Marlo!\nPanel 2: Juniper lands on the railing.\nJUNIPER: Fish?\n(Page {number})"
        ),
        notes: format!(
            "Page **{number}** of the demo comic. Author's notes are *Markdown*: [links](https://example.com), lists,\n\n- and\n- more.\n\nThis page was drawn by code in `src/demo/draw.rs`."
        ),
        content_warning: if spec.kind == Kind::LongScroll { "Stormy sea, a character in peril".to_owned() } else { String::new() },
        tags,
        characters: cast,
        images,
    })
}

const ABOUT: &str = "# About\n\n*The Paper Lighthouse* is the demo comic of **Halftone**, a self-hosted webcomic platform. \
Every image on this site was drawn by code when the demo was created.\n\n\
Replace it with your own comic: `halftone import <folder>` brings in a folder of pages, and the admin \
lets you publish and schedule new ones.";

const LINKS: &str = "# Links\n\n- [Halftone on GitHub](https://github.com/)\n- [RSS feed](/feed.xml) · [Atom](/atom.xml) · [JSON Feed](/feed.json)\n";
