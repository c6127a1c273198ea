//! Reader for ComicControl 4.x (erintheunready/ComicControl): its MySQL /
//! MariaDB database, read with SELECTs only, and the site's folder
//! (`comics/`, `comicshighres/`, `comicsthumbs/`) for the images.
//!
//! What the format is and how the running system behaves is written down in
//! `tests/fixtures/FORMATS-other.md` and `tests/fixtures/comiccontrol/URLS.md`;
//! the rules this file follows, in short:
//!
//! * tables are `cc_<prefix><name>`; every comic module is one series (the
//!   home module, or else the first comic module, is the primary series);
//! * reading order is `publishtime` per module (ties: `id`), what
//!   `CC_Comic::getSeq` and the archive drop-down use; storylines do not
//!   order pages;
//! * `publishtime` is a Unix instant already (the admin converted the typed
//!   local time with the site's `timezone`), so dates need no conversion;
//!   a page is scheduled while `publishtime` is not yet past;
//! * storylines nest by `parent`: a top-level storyline with children
//!   becomes a volume, each storyline a chapter;
//! * a page answered at `<root><module>/<slug>` (and inside a tag sequence,
//!   `<root><module>/<slug>/read-tag/<tag>`); a page whose slug is empty had
//!   no address of its own.

use super::mysql::{list_tables, text};
use super::text::{claim_unique, encode_path, html_to_text};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context};
use sqlx::{Connection, MySqlConnection, Row};

use super::{
    decode_entities, plain_text, ChapterSpec, ForeignComic, ForeignImage, ForeignPage,
    ForeignRedirect, ForeignSeries, ForeignStatus, RedirectTarget,
};
use crate::comics::Slug;

/// Reads a whole ComicControl site. `table_prefix` is the install's prefix
/// (`main_`) or the full one (`cc_main_`); `None` finds it. `files` is the
/// site's folder (the one holding `comics/` and `comicshighres/`).
pub async fn read(
    database_url: &str,
    table_prefix: Option<&str>,
    files: Option<&Path>,
) -> anyhow::Result<ForeignComic> {
    read_at(
        database_url,
        table_prefix,
        files,
        chrono::Utc::now().timestamp(),
    )
    .await
}

/// [`read`] with "now" given (what decides published or scheduled).
async fn read_at(
    database_url: &str,
    table_prefix: Option<&str>,
    files: Option<&Path>,
    now: i64,
) -> anyhow::Result<ForeignComic> {
    let mut conn = MySqlConnection::connect(database_url)
        .await
        .context("could not connect to the ComicControl database")?;
    let result = read_from(&mut conn, table_prefix, files, now).await;
    let _ = conn.close().await;
    result
}

struct Module {
    id: i64,
    title: String,
    kind: String,
    slug: String,
    description: String,
}

struct Storyline {
    id: i64,
    name: String,
    parent: i64,
    caption: String,
    thumbnail: String,
}

struct Row_ {
    id: i64,
    title: String,
    slug: String,
    publishtime: i64,
    storyline: i64,
    hovertext: String,
    imgname: String,
    highres: String,
    mime: String,
    newstitle: String,
    newscontent: String,
    transcript: String,
    contentwarning: String,
    altnext: String,
    commentid: String,
}

async fn read_from(
    conn: &mut MySqlConnection,
    table_prefix: Option<&str>,
    files: Option<&Path>,
    now: i64,
) -> anyhow::Result<ForeignComic> {
    let tables = list_tables(conn).await?;
    let p = find_prefix(&tables, table_prefix)?;
    let has = |name: &str| tables.contains(&format!("{p}{name}"));

    let options: HashMap<String, String> = sqlx::query(&format!(
        "SELECT CAST(optionname AS CHAR), CAST(optionvalue AS CHAR) FROM `{p}options`"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| (text(r, 0), text(r, 1)))
    .collect();
    let option = |name: &str| options.get(name).cloned().unwrap_or_default();

    let mut comic = ForeignComic {
        system: match option("version").trim() {
            "" => "ComicControl".to_owned(),
            v => format!("ComicControl {v}"),
        },
        site_title: Some(plain_text(&option("sitetitle"))).filter(|t| !t.is_empty()),
        ..ForeignComic::default()
    };

    // Where the site lives: the path part of the `root` option.
    let root = root_path(&option("root"), &option("relativepath"));
    if root != "/" {
        comic.notes.push(format!(
            "the site lived under {root} (the root option): old addresses keep that prefix"
        ));
    }
    let timezone = match option("timezone").trim() {
        "" => "America/Chicago".to_owned(),
        tz => tz.to_owned(),
    };
    comic.notes.push(format!(
        "dates are ComicControl's publish times (Unix instants); the site's time zone ({timezone}) only \
         decided how they were shown"
    ));
    comic.notes.push(
        "reading order is each comic's publish time (as ComicControl's navigation and archive); pages \
         with the same second are ordered by their id"
            .to_owned(),
    );

    let modules: Vec<Module> = sqlx::query(&format!(
        "SELECT CAST(id AS SIGNED), CAST(title AS CHAR), CAST(moduletype AS CHAR), CAST(slug AS CHAR), \
         CAST(COALESCE(description, '') AS CHAR) FROM `{p}modules` ORDER BY id"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Module {
        id: r.get(0),
        title: text(r, 1),
        kind: text(r, 2),
        slug: text(r, 3),
        description: text(r, 4),
    })
    .collect();

    let mut module_options: HashMap<i64, HashMap<String, String>> = HashMap::new();
    if has("modules_options") {
        for r in sqlx::query(&format!(
            "SELECT CAST(moduleid AS SIGNED), CAST(optionname AS CHAR), CAST(value AS CHAR) \
             FROM `{p}modules_options`"
        ))
        .fetch_all(&mut *conn)
        .await?
        {
            module_options
                .entry(r.get(0))
                .or_default()
                .insert(text(&r, 1), text(&r, 2));
        }
    }

    let home: i64 = option("homepage").trim().parse().unwrap_or(0);
    let comics: Vec<&Module> = modules.iter().filter(|m| m.kind == "comic").collect();
    if comics.is_empty() {
        bail!("this ComicControl site ({p}modules) has no comic module: nothing to import");
    }
    let primary = comics
        .iter()
        .find(|m| m.id == home)
        .or_else(|| comics.first())
        .map(|m| m.id)
        .unwrap_or_default();

    // Columns differ between ComicControl versions: read what is there.
    let columns = table_columns(conn, &format!("{p}comics")).await?;
    let col = |name: &str| {
        if columns.contains(name) {
            format!("CAST(COALESCE(`{name}`, '') AS CHAR)")
        } else {
            "''".to_owned()
        }
    };
    let int_col = |name: &str| {
        if columns.contains(name) {
            format!("CAST(COALESCE(`{name}`, 0) AS SIGNED)")
        } else {
            "0".to_owned()
        }
    };
    let page_sql = format!(
        "SELECT CAST(id AS SIGNED), {title}, {slug}, {publishtime}, {storyline}, {hovertext}, {imgname}, \
         {highres}, {mime}, {newstitle}, {newscontent}, {transcript}, {contentwarning}, {altnext}, \
         {commentid} FROM `{p}comics` WHERE comic = ? ORDER BY publishtime, id",
        title = col("title"),
        slug = col("slug"),
        publishtime = int_col("publishtime"),
        storyline = int_col("storyline"),
        hovertext = col("hovertext"),
        imgname = col("imgname"),
        highres = col("comichighres"),
        mime = col("mime"),
        newstitle = col("newstitle"),
        newscontent = col("newscontent"),
        transcript = col("transcript"),
        contentwarning = col("contentwarning"),
        altnext = col("altnext"),
        commentid = col("commentid"),
    );

    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    if has("comics_tags") {
        for r in sqlx::query(&format!(
            "SELECT CAST(comicid AS SIGNED), CAST(tag AS CHAR) FROM `{p}comics_tags` ORDER BY id"
        ))
        .fetch_all(&mut *conn)
        .await?
        {
            let tag = plain_text(&text(&r, 1));
            let list = tags.entry(r.get(0)).or_default();
            // displayTags: SELECT DISTINCT tag.
            if !tag.is_empty() && !list.contains(&tag) {
                list.push(tag);
            }
        }
    }

    let mut storylines: Vec<(i64, Storyline, i64)> = Vec::new();
    if has("comics_storyline") {
        let story_columns = table_columns(conn, &format!("{p}comics_storyline")).await?;
        let scol = |name: &str| {
            if story_columns.contains(name) {
                format!("CAST(COALESCE(`{name}`, '') AS CHAR)")
            } else {
                "''".to_owned()
            }
        };
        for r in sqlx::query(&format!(
            "SELECT CAST(id AS SIGNED), CAST(name AS CHAR), CAST(comic AS SIGNED), CAST(parent AS SIGNED), \
             {caption}, {thumbnail}, CAST(sorder AS SIGNED) FROM `{p}comics_storyline` ORDER BY sorder, id",
            caption = scol("caption"),
            thumbnail = scol("thumbnail"),
        ))
        .fetch_all(&mut *conn)
        .await?
        {
            storylines.push((
                r.get(2),
                Storyline {
                    id: r.get(0),
                    name: text(&r, 1),
                    parent: r.get(3),
                    caption: text(&r, 4),
                    thumbnail: text(&r, 5),
                },
                r.get(6),
            ));
        }
    }

    let mut series_slugs: HashSet<String> = HashSet::new();
    let mut ordered: Vec<&Module> = Vec::new();
    ordered.extend(comics.iter().copied().filter(|m| m.id == primary));
    ordered.extend(comics.iter().copied().filter(|m| m.id != primary));
    for module in ordered {
        let is_primary = module.id == primary;
        let series_slug = if is_primary {
            None
        } else {
            let base = Slug::parse(&module.slug)
                .ok()
                .or_else(|| Slug::from_text(&module.slug))
                .or_else(|| Slug::from_text(&module.title))
                .map(Slug::into_string)
                .unwrap_or_else(|| format!("comic-{}", module.id));
            let slug = claim_unique(&base, &mut series_slugs);
            Some(slug)
        };
        let opts = module_options.get(&module.id).cloned().unwrap_or_default();
        let rows: Vec<Row_> = sqlx::query(&page_sql)
            .bind(module.id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Row_ {
                id: r.get(0),
                title: text(r, 1),
                slug: text(r, 2),
                publishtime: r.get(3),
                storyline: r.get(4),
                hovertext: text(r, 5),
                imgname: text(r, 6),
                highres: text(r, 7),
                mime: text(r, 8),
                newstitle: text(r, 9),
                newscontent: text(r, 10),
                transcript: text(r, 11),
                contentwarning: text(r, 12),
                altnext: text(r, 13),
                commentid: text(r, 14),
            })
            .collect();
        let module_storylines: Vec<&Storyline> = storylines
            .iter()
            .filter(|(comic, _, _)| *comic == module.id)
            .map(|(_, s, _)| s)
            .collect();
        let series = read_module(
            &mut comic,
            module,
            series_slug,
            &opts,
            rows,
            &module_storylines,
            &tags,
            &root,
            files,
            now,
        );
        comic.series.push(series);
    }

    // The site-wide addresses.
    comic.redirects.push(ForeignRedirect {
        from: root.clone(),
        to: RedirectTarget::Home,
    });
    if comics.len() > 1 {
        comic.notes.push(format!(
            "{} comic modules became {} series; the {} one (“{}”) is the primary series",
            comics.len(),
            comics.len(),
            if comics.iter().any(|m| m.id == home) {
                "home page's"
            } else {
                "first"
            },
            plain_text(
                comics
                    .iter()
                    .find(|m| m.id == primary)
                    .map(|m| m.title.as_str())
                    .unwrap_or("")
            ),
        ));
    }

    // What stays behind.
    for module in modules.iter().filter(|m| m.kind != "comic") {
        let what = match module.kind.as_str() {
            "blog" => count(
                conn,
                has("blogs"),
                &format!("SELECT COUNT(*) FROM `{p}blogs` WHERE blog = ?"),
                module.id,
            )
            .await?
            .map(|n| format!("{n} posts")),
            "gallery" => count(
                conn,
                has("galleries"),
                &format!("SELECT COUNT(*) FROM `{p}galleries` WHERE gallery = ?"),
                module.id,
            )
            .await?
            .map(|n| format!("{n} images")),
            _ => None,
        };
        comic.unmapped.push(format!(
            "{} module “{}” ({}{}){}: not imported",
            module.kind,
            plain_text(&module.title),
            root,
            module.slug,
            what.map(|w| format!(", {w}")).unwrap_or_default()
        ));
    }
    if has("users") {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM `{p}users`"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            comic.unmapped.push(format!(
                "{n} ComicControl user account(s) ({p}users): not imported (their passwords are salted MD5)"
            ));
        }
    }
    if has("plugins") {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM `{p}plugins`"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            comic
                .unmapped
                .push(format!("{n} plugin(s) ({p}plugins): not imported"));
        }
    }
    if has("images") {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM `{p}images`"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            comic.unmapped.push(format!(
                "{n} image(s) uploaded for posts ({p}images, uploads/): not imported"
            ));
        }
    }
    comic.unmapped.push(
        "thumbnails (comicsthumbs/) and the scaled copies (comics/): not imported, Halftone makes its own \
         from the originals (comicshighres/)"
            .to_owned(),
    );
    comic.unmapped.push(
        "modules' templates and options (navigation order, button texts, click and touch actions): not imported"
            .to_owned(),
    );
    comic.notes.push(
        "old addresses are given as browsers send them: path only, characters outside ASCII percent-encoded \
         (UTF-8, upper-case hex)"
            .to_owned(),
    );
    Ok(comic)
}

#[allow(clippy::too_many_arguments)]
fn read_module(
    comic: &mut ForeignComic,
    module: &Module,
    series_slug: Option<String>,
    opts: &HashMap<String, String>,
    rows: Vec<Row_>,
    storylines: &[&Storyline],
    tags: &HashMap<i64, Vec<String>>,
    root: &str,
    files: Option<&Path>,
    now: i64,
) -> ForeignSeries {
    let name = plain_text(&module.title);
    let base = format!("{root}{}", encode_path(&module.slug));
    let series_ref = series_slug.clone();

    // Chapters: the storyline tree (`parent`, siblings by `sorder`).
    let (chapters, tree_order) = chapter_specs(comic, &name, storylines);

    // Page slugs: ComicControl's own where Halftone accepts them; derived
    // ones never take a slug an old page has.
    let mut used: HashSet<String> = rows
        .iter()
        .filter_map(|r| Slug::parse(&r.slug).ok().map(Slug::into_string))
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    // The first row with a slug answers its address (getPost: LIMIT 1).
    let mut url_owner: HashMap<&str, i64> = HashMap::new();
    for r in rows.iter().filter(|r| !r.slug.is_empty()) {
        let owner = url_owner.entry(r.slug.as_str()).or_insert(r.id);
        *owner = (*owner).min(r.id);
    }
    let perpage: i64 = opts
        .get("perpage")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut tag_counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut ties: Vec<String> = Vec::new();
    let mut pages = Vec::with_capacity(rows.len());
    let mut previous: Option<(i64, &str)> = None;

    for r in &rows {
        if let Some((time, title)) = previous {
            if time == r.publishtime {
                ties.push(format!(
                    "“{}” and “{}”",
                    plain_text(title),
                    plain_text(&r.title)
                ));
            }
        }
        previous = Some((r.publishtime, &r.title));
        let title = plain_text(&r.title);
        let published = r.publishtime < now;
        let slug = match Slug::parse(&r.slug) {
            Ok(s) if !taken.contains(s.as_str()) => s.into_string(),
            _ => {
                let wanted = Slug::from_text(&title)
                    .or_else(|| Slug::from_text(&r.slug))
                    .map(Slug::into_string)
                    .unwrap_or_else(|| format!("page-{}", r.id));
                let slug = claim_unique(&wanted, &mut used);
                if r.slug.is_empty() {
                    comic.unmapped.push(format!(
                        "page “{title}” (cc:{}) had an empty slug (its title has no ASCII letter): ComicControl \
                         linked it as {base}/, which showed the newest page; imported as “{slug}”, with no \
                         old address",
                        r.id
                    ));
                } else {
                    comic.notes.push(format!(
                        "page “{title}” (cc:{}): slug “{}” renamed “{slug}” (old address kept)",
                        r.id, r.slug
                    ));
                }
                slug
            }
        };
        taken.insert(slug.clone());

        let page_tags = tags.get(&r.id).cloned().unwrap_or_default();
        for tag in &page_tags {
            let entry = tag_counts.entry(tag.clone()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(published);
        }

        let mut old_urls = Vec::new();
        if !r.slug.is_empty() {
            if url_owner.get(r.slug.as_str()) == Some(&r.id) {
                let url = format!("{base}/{}", encode_path(&r.slug));
                for tag in &page_tags {
                    old_urls.push(format!("{url}/read-tag/{}", encode_path(tag)));
                }
                old_urls.insert(0, url);
            } else {
                comic.unmapped.push(format!(
                    "page “{title}” (cc:{}) shares the slug “{}” with an earlier page, whose address it was: \
                     no old address",
                    r.id, r.slug
                ));
            }
        }

        // Hover text: an attribute, so entities decoded once; empty shows the title.
        let hover_text = if r.hovertext.trim().is_empty() {
            title.clone()
        } else {
            decode_entities(&r.hovertext)
        };

        let mut notes = String::new();
        if !r.newstitle.trim().is_empty() {
            notes.push_str(&format!("<h3>{}</h3>\n", r.newstitle.trim()));
        }
        if !r.newscontent.trim().is_empty() {
            let page_url = format!("{base}/{}", encode_path(&r.slug));
            notes.push_str(&absolutize_links(r.newscontent.trim(), &page_url));
        }

        let image = if r.mime == "application/x-shockwave-flash" {
            comic.unmapped.push(format!(
                "page “{title}” (cc:{}) is a Flash file ({}): it cannot be shown, imported without an image",
                r.id, r.imgname
            ));
            ForeignImage::Missing {
                name: format!("comics/{}", r.imgname),
            }
        } else {
            find_image(files, &r.highres, &r.imgname)
        };

        if !r.altnext.trim().is_empty() {
            comic.unmapped.push(format!(
                "page “{title}” (cc:{}): its image and “next” linked to {} instead of the next page (altnext); \
                 not imported",
                r.id,
                r.altnext.trim()
            ));
        }

        let chapter = match r.storyline {
            0 => None,
            id => match chapters.get(&id) {
                Some(spec) => Some(spec.clone()),
                None => {
                    comic.notes.push(format!(
                        "page “{title}” (cc:{}) names storyline {id}, which does not exist: imported without a chapter",
                        r.id
                    ));
                    None
                }
            },
        };

        pages.push(ForeignPage {
            source_id: format!("cc:{}", r.id),
            slug,
            title,
            status: if published {
                ForeignStatus::Published
            } else {
                ForeignStatus::Scheduled
            },
            date: Some(r.publishtime),
            chapter,
            hover_text,
            transcript: html_to_text(&r.transcript),
            notes,
            content_warning: plain_text(&r.contentwarning),
            tags: page_tags,
            characters: Vec::new(),
            images: vec![image],
            old_urls,
            comments: Vec::new(),
        });
    }
    // Halftone lists chapters as their first pages come; say so when the
    // archive's tree listed them otherwise.
    let mut first_seen: Vec<&str> = Vec::new();
    for page in &pages {
        if let Some(ch) = &page.chapter {
            if !first_seen.contains(&ch.slug.as_str()) {
                first_seen.push(&ch.slug);
            }
        }
    }
    let tree: Vec<&str> = tree_order
        .iter()
        .map(String::as_str)
        .filter(|s| first_seen.contains(s))
        .collect();
    if tree != first_seen {
        let titles = |slugs: &[&str]| -> String {
            slugs
                .iter()
                .filter_map(|s| {
                    chapters
                        .values()
                        .find(|c| c.slug == *s)
                        .map(|c| format!("“{}”", c.title))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        comic.notes.push(format!(
            "“{name}”: the archive listed the storylines as {}, their first pages come as {}: check the chapter \
             order after the import",
            titles(&tree),
            titles(&first_seen)
        ));
    }
    if !ties.is_empty() {
        comic.notes.push(format!(
            "“{name}”: pages with the same publish time, ordered by id (ComicControl's navigation skips one of \
             each pair): {}",
            ties.join(", ")
        ));
    }
    let comments: Vec<&str> = rows
        .iter()
        .map(|r| r.commentid.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    if !comments.is_empty() {
        comic.unmapped.push(format!(
            "“{name}”: comment thread ids of {} pages ({}…): the comments live with the comment service \
             (Disqus/Commento), not imported",
            comments.len(),
            comments[0]
        ));
    }
    if opts.get("newsmode").map(String::as_str) == Some("latestnews") {
        comic.notes.push(format!(
            "“{name}” showed the latest news post under every page (news mode “latestnews”); each news post is \
             imported under its own page only"
        ));
    }

    // Addresses of the comic as a whole.
    let to_latest = RedirectTarget::Latest {
        series: series_ref.clone(),
    };
    comic.redirects.push(ForeignRedirect {
        from: base.clone(),
        to: to_latest.clone(),
    });
    comic.redirects.push(ForeignRedirect {
        from: format!("{base}/"),
        to: to_latest,
    });
    comic.redirects.push(ForeignRedirect {
        from: format!("{base}/archive"),
        to: RedirectTarget::Archive {
            series: series_ref.clone(),
        },
    });
    comic.redirects.push(ForeignRedirect {
        from: format!("{base}/rss"),
        to: RedirectTarget::Feed {
            series: series_ref.clone(),
            chapter: None,
        },
    });
    for (tag, (_, public)) in &tag_counts {
        let url = format!("{base}/search/{}", encode_path(tag));
        comic.redirects.push(ForeignRedirect {
            from: url.clone(),
            to: RedirectTarget::Tag { name: tag.clone() },
        });
        // search(): ceil(tagged public pages / perpage) numbered pages.
        if perpage > 0 {
            let numbered = (*public as i64 + perpage - 1) / perpage;
            for n in 1..=numbered.max(1) {
                comic.redirects.push(ForeignRedirect {
                    from: format!("{url}/{n}"),
                    to: RedirectTarget::Tag { name: tag.clone() },
                });
            }
        }
    }
    if !chapters.is_empty() {
        comic.notes.push(format!(
            "“{name}”: the archive's chapter anchors ({base}/archive#<storyline id>) are not addresses of their \
             own (browsers keep the part after # to themselves): they lead to the archive"
        ));
    }
    if !tag_counts.is_empty() {
        comic.unmapped.push(format!(
            "“{name}”: reading inside a tag ({base}/<page>/read-tag/<tag>, previous/next among that tag's pages): \
             those addresses lead to the page, the tag-only navigation is not kept"
        ));
    }

    ForeignSeries {
        slug: series_slug,
        title: name,
        description: plain_text(&module.description),
        pages,
    }
}

/// ChapterSpec per storyline id (depth first, siblings by `sorder`, as
/// `recurseChapters`): a top-level storyline with children is a volume and
/// also the chapter of its own pages; deeper ones keep their top level as
/// volume.
fn chapter_specs(
    comic: &mut ForeignComic,
    series_name: &str,
    storylines: &[&Storyline],
) -> (HashMap<i64, ChapterSpec>, Vec<String>) {
    let by_id: HashMap<i64, &Storyline> = storylines.iter().map(|s| (s.id, *s)).collect();
    let mut children: HashMap<i64, Vec<&Storyline>> = HashMap::new();
    for s in storylines {
        // A parent that does not exist (deleted) puts the storyline at the top.
        let parent = if s.parent != 0 && by_id.contains_key(&s.parent) && s.parent != s.id {
            s.parent
        } else {
            0
        };
        children.entry(parent).or_default().push(s);
    }
    let mut specs = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut slugs: HashSet<String> = HashSet::new();
    let mut flattened = Vec::new();
    let mut visited: HashSet<i64> = HashSet::new();
    // (storyline, depth, top-level ancestor)
    let mut stack: Vec<(&Storyline, usize, Option<&Storyline>)> = children
        .get(&0)
        .map(|c| c.iter().rev().map(|s| (*s, 0, None)).collect())
        .unwrap_or_default();
    while let Some((s, depth, top)) = stack.pop() {
        if !visited.insert(s.id) {
            continue;
        }
        let title = plain_text(&s.name);
        let title = if title.is_empty() {
            format!("Storyline {}", s.id)
        } else {
            title
        };
        let has_children = children.get(&s.id).is_some_and(|c| !c.is_empty());
        let volume = match top {
            Some(top) => Some(non_empty_name(top)),
            None if has_children => Some(title.clone()),
            None => None,
        };
        if depth >= 2 {
            flattened.push(title.clone());
        }
        let base = Slug::from_text(&title)
            .map(Slug::into_string)
            .unwrap_or_else(|| format!("chapter-{}", s.id));
        let slug = claim_unique(&base, &mut slugs);
        order.push(slug.clone());
        if !s.thumbnail.trim().is_empty() {
            comic.unmapped.push(format!(
                "“{series_name}”: storyline “{title}” has its own thumbnail ({}): not imported",
                s.thumbnail.trim()
            ));
        }
        specs.insert(
            s.id,
            ChapterSpec {
                volume,
                slug,
                title,
                description: s.caption.trim().to_owned(),
            },
        );
        if let Some(kids) = children.get(&s.id) {
            for kid in kids.iter().rev() {
                stack.push((kid, depth + 1, Some(top.unwrap_or(s))));
            }
        }
    }
    if !flattened.is_empty() {
        comic.notes.push(format!(
            "“{series_name}”: storylines nested more than two deep became chapters of their top-level volume \
             (the levels between are lost): {}",
            flattened.join(", ")
        ));
    }
    for s in storylines.iter().filter(|s| !visited.contains(&s.id)) {
        comic.notes.push(format!(
            "“{series_name}”: storyline “{}” is in a parent loop: its pages are imported without a chapter",
            plain_text(&s.name)
        ));
    }
    (specs, order)
}

fn non_empty_name(s: &Storyline) -> String {
    let name = plain_text(&s.name);
    if name.is_empty() {
        format!("Storyline {}", s.id)
    } else {
        name
    }
}

/// The original (`comicshighres/`), else the shown copy (`comics/`).
fn find_image(files: Option<&Path>, highres: &str, imgname: &str) -> ForeignImage {
    if let Some(dir) = files {
        let candidates = [("comicshighres", highres), ("comics", imgname)];
        for (folder, name) in candidates {
            let name = name.trim();
            if name.is_empty() || name.split(['/', '\\']).any(|part| part == "..") {
                continue;
            }
            let path = dir.join(folder).join(name);
            if path.is_file() {
                return ForeignImage::File {
                    path,
                    alt: String::new(),
                };
            }
        }
    }
    let name = if !highres.trim().is_empty() {
        format!("comicshighres/{}", highres.trim())
    } else {
        format!("comics/{}", imgname.trim())
    };
    ForeignImage::Missing { name }
}

/// The table prefix: `cc_<prefix>` with `<p>comics`, `<p>options` and
/// `<p>modules` present.
fn find_prefix(tables: &HashSet<String>, given: Option<&str>) -> anyhow::Result<String> {
    let complete = |p: &str| {
        ["comics", "options", "modules"]
            .iter()
            .all(|t| tables.contains(&format!("{p}{t}")))
    };
    if let Some(given) = given {
        let given = given.trim();
        for candidate in [given.to_owned(), format!("cc_{given}")] {
            if complete(&candidate) {
                return Ok(candidate);
            }
        }
        bail!(
            "no ComicControl tables with the prefix “{given}” (looked for cc_{given}comics and {given}comics, \
             with their options and modules tables)"
        );
    }
    let mut found: Vec<String> = tables
        .iter()
        .filter(|t| t.starts_with("cc_") && t.ends_with("comics"))
        .map(|t| t[..t.len() - "comics".len()].to_owned())
        .filter(|p| complete(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let hint = if tables.iter().any(|t| t.ends_with("book_page")) {
                " (it looks like a Grawlix database: use --from grawlix)"
            } else if tables.iter().any(|t| t.ends_with("posts") && t.contains("wp")) {
                " (it looks like a WordPress database: import its WXR export with --from wordpress)"
            } else {
                ""
            };
            bail!(
                "this is not a ComicControl database: no table cc_<prefix>comics with its options and modules \
                 ({} tables looked at){hint}",
                tables.len()
            )
        }
        _ => bail!(
            "several ComicControl installs share this database (table prefixes {}): name one with --prefix",
            found.join(", ")
        ),
    }
}

async fn table_columns(conn: &mut MySqlConnection, table: &str) -> anyhow::Result<HashSet<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    Ok(names.into_iter().map(|n| n.to_ascii_lowercase()).collect())
}

async fn count(
    conn: &mut MySqlConnection,
    exists: bool,
    sql: &str,
    id: i64,
) -> anyhow::Result<Option<i64>> {
    if !exists {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    ))
}

/// The path of the site root: `https://comic.example/sub/` → `/sub/`.
/// ComicControl re-derives the scheme per request (`setProtocol`), so only
/// the path counts; without a root, `relativepath` says it.
fn root_path(root: &str, relativepath: &str) -> String {
    let root = root.trim();
    let path = if root.is_empty() {
        format!("/{}", relativepath.trim().trim_matches('/'))
    } else {
        let rest = match root.find("//") {
            Some(i) => &root[i + 2..],
            None => root,
        };
        match rest.find('/') {
            Some(i) => rest[i..].to_owned(),
            None => "/".to_owned(),
        }
    };
    let path = path.split(['?', '#']).next().unwrap_or("/").to_owned();
    let mut path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    if !path.ends_with('/') {
        path.push('/');
    }
    path
}

/// Relative links in a news post pointed at the old site (`href="archive"`
/// under `/comic/page` is `/comic/archive`): made root-relative, so the old
/// addresses (redirected) still lead somewhere.
fn absolutize_links(html: &str, page_path: &str) -> String {
    let Ok(base) = url::Url::parse(&format!("http://old.invalid{page_path}")) else {
        return html.to_owned();
    };
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let lower = html.to_ascii_lowercase();
    let mut offset = 0;
    loop {
        let found = ["href=", "src="]
            .iter()
            .filter_map(|a| lower[offset..].find(a).map(|i| (i, a.len())))
            .min();
        let Some((at, len)) = found else {
            out.push_str(rest);
            break;
        };
        let value_start = at + len;
        let quote = rest[value_start..].chars().next();
        let (Some(q @ ('"' | '\'')), true) = (
            quote,
            at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric(),
        ) else {
            out.push_str(&rest[..value_start]);
            rest = &rest[value_start..];
            offset += value_start;
            continue;
        };
        let inner_start = value_start + 1;
        let Some(inner_len) = rest[inner_start..].find(q) else {
            out.push_str(rest);
            break;
        };
        let value = &rest[inner_start..inner_start + inner_len];
        out.push_str(&rest[..inner_start]);
        out.push_str(&relative_to_root(&base, value).unwrap_or_else(|| value.to_owned()));
        let consumed = inner_start + inner_len;
        rest = &rest[consumed..];
        offset += consumed;
    }
    out
}

fn relative_to_root(base: &url::Url, value: &str) -> Option<String> {
    let v = value.trim();
    let has_scheme = v.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    });
    if v.is_empty() || has_scheme || v.starts_with('/') || v.starts_with('#') {
        return None;
    }
    let joined = base.join(&decode_entities(v)).ok()?;
    let mut out = joined.path().to_owned();
    if let Some(q) = joined.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = joined.fragment() {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::PathBuf;

    #[test]
    fn transcripts_become_lines() {
        assert_eq!(
            html_to_text("<p>ANNA: Un caf&eacute;.</p><p>BARISTA:\n  Bien s&ucirc;r!</p>"),
            "ANNA: Un café.\nBARISTA: Bien sûr!"
        );
        assert_eq!(html_to_text("one<br />two<br><br>four"), "one\ntwo\n\nfour");
        assert_eq!(
            html_to_text("<p><b>bold</b> and <i>it</i></p>"),
            "bold and it"
        );
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn roots_and_paths() {
        assert_eq!(root_path("https://comic.example/", ""), "/");
        assert_eq!(root_path("http://example.com/my/comic", ""), "/my/comic/");
        assert_eq!(root_path("//example.com/x/", ""), "/x/");
        assert_eq!(root_path("", "sub"), "/sub/");
        assert_eq!(encode_path("chapter start"), "chapter%20start");
        assert_eq!(encode_path("café"), "caf%C3%A9");
        assert_eq!(
            absolutize_links(
                "<a href=\"archive\">A</a> <a href='/x'>x</a> <img src=\"http://a/b.png\">",
                "/comic/p"
            ),
            "<a href=\"/comic/archive\">A</a> <a href='/x'>x</a> <img src=\"http://a/b.png\">"
        );
    }

    /// A scratch database on the test server, dropped by `drop_it`.
    struct Scratch {
        server: url::Url,
        name: String,
    }

    impl Scratch {
        fn url(&self) -> String {
            let mut url = self.server.clone();
            url.set_path(&format!("/{}", self.name));
            url.to_string()
        }

        async fn create(dump: &Path) -> Option<Scratch> {
            let server = std::env::var("HALFTONE_TEST_DATABASE_URL")
                .ok()
                .filter(|u| u.starts_with("mysql://"))
                .unwrap_or_else(|| "mysql://root@127.0.0.1:3306".to_owned());
            let mut server = url::Url::parse(&server).expect("a mysql:// URL");
            server.set_path("/");
            let mut conn = match MySqlConnection::connect(server.as_str()).await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("skipped: no MariaDB server at {server} ({e})");
                    return None;
                }
            };
            let name = format!("halftone_src_{:016x}", rand::random::<u64>());
            sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                .execute(&mut conn)
                .await
                .expect("create the scratch database");
            let _ = conn.close().await;
            let scratch = Scratch { server, name };
            let client = ["mariadb", "mysql"].into_iter().find(|c| {
                std::process::Command::new(c)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            });
            let Some(client) = client else {
                eprintln!("skipped: no mariadb/mysql command-line client to load the dump");
                scratch.drop_it().await;
                return None;
            };
            let mut cmd = std::process::Command::new(client);
            cmd.arg("--protocol=TCP")
                .arg(format!(
                    "--host={}",
                    scratch.server.host_str().unwrap_or("127.0.0.1")
                ))
                .arg(format!("--port={}", scratch.server.port().unwrap_or(3306)))
                .arg(format!("--user={}", scratch.server.username()))
                .arg("--default-character-set=utf8mb4")
                .arg(&scratch.name)
                .stdin(std::fs::File::open(dump).expect("the dump"));
            if let Some(password) = scratch.server.password() {
                // The URL's password, percent-decoded (`+` stays a plus).
                let bytes = password.as_bytes();
                let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
                let mut out = Vec::with_capacity(bytes.len());
                let mut i = 0;
                while i < bytes.len() {
                    let pair = (
                        bytes.get(i + 1).and_then(|b| hex(*b)),
                        bytes.get(i + 2).and_then(|b| hex(*b)),
                    );
                    match (bytes[i], pair) {
                        (b'%', (Some(h), Some(l))) => {
                            out.push(h * 16 + l);
                            i += 3;
                        }
                        (b, _) => {
                            out.push(b);
                            i += 1;
                        }
                    }
                }
                let password = String::from_utf8_lossy(&out).into_owned();
                cmd.env("MYSQL_PWD", password);
            }
            let output = cmd.output().expect("run the client");
            if !output.status.success() {
                scratch.drop_it().await;
                panic!(
                    "loading the dump failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            Some(scratch)
        }

        async fn drop_it(&self) {
            if let Ok(mut conn) = MySqlConnection::connect(self.server.as_str()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        }
    }

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/comiccontrol")
    }

    #[tokio::test]
    async fn reads_the_fixture_as_the_site_showed_it() {
        let dir = fixture();
        let Some(scratch) = Scratch::create(&dir.join("fixture.sql")).await else {
            return;
        };
        let url = scratch.url();
        let outcome = tokio::spawn(async move { check_fixture(&url, &dir).await }).await;
        scratch.drop_it().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    #[tokio::test]
    async fn refuses_what_is_not_comiccontrol() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grawlix");
        let Some(scratch) = Scratch::create(&dir.join("fixture.sql")).await else {
            return;
        };
        let url = scratch.url();
        let outcome = tokio::spawn(async move {
            let err = read(&url, None, None)
                .await
                .expect_err("a Grawlix database");
            assert!(
                err.to_string().contains("not a ComicControl database"),
                "{err}"
            );
            let err = read(&url, Some("main_"), None)
                .await
                .expect_err("no such prefix");
            assert!(err.to_string().contains("main_"), "{err}");
        })
        .await;
        scratch.drop_it().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    fn s<'a>(v: &'a Value, key: &str) -> &'a str {
        v[key].as_str().unwrap_or("")
    }

    /// The path (percent-encoded, as a browser sends it) of an absolute URL.
    fn path_of(url: &str) -> String {
        url::Url::parse(url)
            .expect("an absolute URL")
            .path()
            .to_owned()
    }

    /// The expected transcript text, from the HTML the site showed:
    /// one line per paragraph.
    fn lines_of(html: &str) -> String {
        html.split("</p>")
            .map(plain_text)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn check_fixture(url: &str, dir: &Path) {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json is JSON");
        let now = expected["generated_at_unix"]
            .as_i64()
            .expect("generated_at_unix");
        let prefix = s(&expected["site"], "table_prefix");

        let comic = read_at(url, None, Some(dir), now)
            .await
            .expect("the reader reads the fixture");
        let root = path_of(s(&expected["site"], "root_option"));
        let module = format!("{root}{}", s(&expected["site"], "comic_module_slug"));
        // The prefix given either way gives the same comic.
        let again = read_at(url, Some(prefix), Some(dir), now)
            .await
            .expect("full prefix");
        assert_eq!(again.series[0].pages.len(), comic.series[0].pages.len());
        let short = prefix.trim_start_matches("cc_");
        read_at(url, Some(short), Some(dir), now)
            .await
            .expect("install prefix");

        assert!(
            comic.system.starts_with(s(&expected, "system")),
            "{}",
            comic.system
        );
        assert_eq!(comic.series.len(), 1);
        let series = &comic.series[0];
        assert_eq!(series.slug, None);

        let public: Vec<&Value> = expected["reading_order"]
            .as_array()
            .expect("reading_order")
            .iter()
            .collect();
        let scheduled: Vec<&Value> = expected["scheduled"]
            .as_array()
            .expect("scheduled")
            .iter()
            .collect();
        let by_id: HashMap<String, &ForeignPage> = series
            .pages
            .iter()
            .map(|p| (p.source_id.clone(), p))
            .collect();
        let id = |v: &Value| format!("cc:{}", v["id"].as_i64().expect("id"));

        // Reading order: the published pages in the site's order, then the scheduled.
        let published: Vec<String> = series
            .pages
            .iter()
            .filter(|p| p.status == ForeignStatus::Published)
            .map(|p| p.source_id.clone())
            .collect();
        assert_eq!(published, public.iter().map(|v| id(v)).collect::<Vec<_>>());
        let later: Vec<String> = series
            .pages
            .iter()
            .filter(|p| p.status != ForeignStatus::Published)
            .map(|p| p.source_id.clone())
            .collect();
        assert_eq!(later, scheduled.iter().map(|v| id(v)).collect::<Vec<_>>());
        for v in &scheduled {
            assert_eq!(by_id[&id(v)].status, ForeignStatus::Scheduled);
        }

        // Chapters as the storyline tree has them.
        let storylines = expected["storylines_db"].as_array().expect("storylines_db");
        let story = |sid: i64| {
            storylines
                .iter()
                .find(|s| s["id"] == sid)
                .expect("storyline")
        };
        let volume_of = |sid: i64| -> Option<String> {
            let mut top = story(sid);
            while top["parent"].as_i64() != Some(0) {
                top = story(top["parent"].as_i64().expect("parent"));
            }
            let has_children = storylines.iter().any(|c| c["parent"] == top["id"]);
            (top["id"].as_i64() != Some(sid) || has_children).then(|| plain_text(s(top, "name")))
        };

        let mut all_urls: Vec<String> = Vec::new();
        for v in public.iter().chain(scheduled.iter()) {
            let page = by_id[&id(v)];
            let what = format!("page {}", id(v));
            assert_eq!(page.title, s(v, "title_shown"), "{what}");
            let hover = match v.get("hover_text_attr") {
                Some(h) => h.as_str().expect("hover").to_owned(),
                None => decode_entities(s(v, "hovertext_raw")),
            };
            assert_eq!(page.hover_text, hover, "{what}");
            if let Some(t) = v.get("transcript_html") {
                assert_eq!(
                    page.transcript,
                    lines_of(t.as_str().unwrap_or("")),
                    "{what}"
                );
            }
            let chapter = page
                .chapter
                .as_ref()
                .expect("every fixture page has a storyline");
            assert_eq!(chapter.title, plain_text(s(v, "chapter")), "{what}");
            assert_eq!(
                chapter.volume,
                volume_of(v["storyline_id"].as_i64().expect("storyline")),
                "{what}"
            );
            assert!(
                Slug::parse(&chapter.slug).is_ok(),
                "{what}: {}",
                chapter.slug
            );
            let tags: Vec<String> = v["tags_db"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| t.as_str().expect("tag").to_owned())
                .collect();
            assert_eq!(page.tags, tags, "{what}");
            assert_eq!(page.date, v["publishtime"].as_i64(), "{what}");
            let utc = chrono::DateTime::parse_from_rfc3339(s(v, "date_utc")).expect("date_utc");
            assert_eq!(page.date, Some(utc.timestamp()), "{what}");
            // The original, which exists in the fixture.
            let highres = dir.join(s(&v["image"], "highres"));
            assert!(highres.is_file(), "{what}: {}", highres.display());
            assert_eq!(
                page.images,
                vec![ForeignImage::File {
                    path: highres,
                    alt: String::new()
                }],
                "{what}"
            );
            if let Some(warning) = v["content_warning_script"].as_str() {
                assert_eq!(
                    page.content_warning,
                    warning.split("<br").next().unwrap_or(""),
                    "{what}"
                );
            } else {
                assert_eq!(page.content_warning, "", "{what}");
            }
            if !s(v, "news_html").is_empty() {
                assert!(
                    page.notes.contains(s(v, "news_title")),
                    "{what}: {}",
                    page.notes
                );
                assert!(page.notes.contains(
                    &s(v, "news_html")
                        .replace("href=\"archive\"", &format!("href=\"{module}/archive\""))
                ));
            } else {
                assert_eq!(page.notes, "", "{what}");
            }
            if !s(v, "altnext").is_empty() {
                assert!(
                    comic.unmapped.iter().any(|u| u.contains(s(v, "altnext"))),
                    "{what}"
                );
            }
            assert!(Slug::parse(&page.slug).is_ok(), "{what}: {}", page.slug);

            // Old addresses: the page's own, when it showed this page.
            let own = path_of(s(v, "url"));
            if v["url_shows_this_page"].as_bool() == Some(true) {
                assert_eq!(page.old_urls.first(), Some(&own), "{what}");
                assert_eq!(page.slug, s(v, "slug"), "{what}");
            } else {
                assert!(!page.old_urls.contains(&own), "{what}: {:?}", page.old_urls);
            }
            for url in page.old_urls.iter().skip(1) {
                assert!(
                    url.starts_with(&format!("{own}/read-tag/")),
                    "{what}: {url}"
                );
            }
            assert_eq!(
                page.old_urls.len(),
                if page.old_urls.is_empty() {
                    0
                } else {
                    1 + tags.len()
                }
            );
            all_urls.extend(page.old_urls.iter().cloned());
        }
        // Page slugs are unique.
        let slugs: HashSet<&str> = series.pages.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(slugs.len(), series.pages.len());

        // Every link a page showed leads to a page's address or the newest page.
        let latest: Vec<&str> = comic
            .redirects
            .iter()
            .filter(|r| matches!(r.to, RedirectTarget::Latest { series: None }))
            .map(|r| r.from.as_str())
            .collect();
        for v in &public {
            for (_, link) in v["nav"].as_object().into_iter().flatten() {
                if let Some(link) = link.as_str() {
                    let path = path_of(link);
                    assert!(
                        all_urls.contains(&path) || latest.contains(&path.as_str()),
                        "{path}"
                    );
                }
            }
            // Tag links go to the tag.
            for tag in v["tags_shown"].as_array().into_iter().flatten() {
                let from = path_of(s(tag, "href"));
                assert!(
                    comic.redirects.iter().any(|r| r.from == from
                        && r.to
                            == RedirectTarget::Tag {
                                name: s(tag, "tag").to_owned()
                            }),
                    "{from}"
                );
            }
        }
        for chapter in expected["chapters_in_archive"]
            .as_array()
            .expect("chapters")
        {
            assert!(all_urls.contains(&path_of(s(chapter, "first_page_href"))));
        }
        let has = |from: &str, to: RedirectTarget| {
            comic.redirects.iter().any(|r| r.from == from && r.to == to)
        };
        assert!(has(
            &path_of(s(&expected["feed"], "url")),
            RedirectTarget::Feed {
                series: None,
                chapter: None
            }
        ));
        assert!(has(
            &format!("{module}/archive"),
            RedirectTarget::Archive { series: None }
        ));
        assert!(has(&module, RedirectTarget::Latest { series: None }));
        assert!(has(&root, RedirectTarget::Home));
        assert!(comic.unmapped.iter().any(|u| u.contains("empty slug")));
    }
}
