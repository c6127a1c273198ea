//! The full-text index (tantivy, in memory): what a page is searched by,
//! and the query language readers get — words (prefix and one-typo
//! tolerant), "quoted phrases", all words required, best matches first.

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{doc, Index, IndexReader, Searcher, TantivyDocument, Term};

/// Everything a page can be found by.
#[derive(Debug, Clone, Default)]
pub struct SearchDoc {
    pub id: i64,
    pub series_id: i64,
    pub title: String,
    pub transcript: String,
    /// Alt text of every image, and the hover text.
    pub images: String,
    pub notes: String,
    /// Tags, characters and the chapter's name.
    pub labels: String,
    /// When the page goes live; later pages are filtered out at query time,
    /// so a scheduled page appears on its own when its time comes.
    pub live_at: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
    /// HTML: escaped text with `<b>` around the matches.
    pub snippet: String,
}

pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    series: Field,
    live_at: Field,
    title: Field,
    transcript: Field,
    images: Field,
    notes: Field,
    labels: Field,
}

pub struct BuiltIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

const TOKENIZER: &str = "halftone";

impl BuiltIndex {
    /// Builds an index of `docs` in memory.
    pub fn build(docs: &[SearchDoc]) -> tantivy::Result<BuiltIndex> {
        let mut schema = Schema::builder();
        let text = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_stored();
        let fields = Fields {
            id: schema.add_i64_field("id", STORED | FAST | INDEXED),
            series: schema.add_i64_field("series", INDEXED | FAST),
            live_at: schema.add_i64_field("live_at", INDEXED | FAST),
            title: schema.add_text_field("title", text.clone()),
            transcript: schema.add_text_field("transcript", text.clone()),
            images: schema.add_text_field("images", text.clone()),
            notes: schema.add_text_field("notes", text.clone()),
            labels: schema.add_text_field("labels", text),
        };
        let index = Index::create_in_ram(schema.build());
        // Unicode words, lower-cased; no stemming so prefixes and typos work
        // on what the reader typed.
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .build(),
        );
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for d in docs {
            writer.add_document(doc!(
                fields.id => d.id,
                fields.series => d.series_id,
                fields.live_at => d.live_at,
                fields.title => d.title.as_str(),
                fields.transcript => d.transcript.as_str(),
                fields.images => d.images.as_str(),
                fields.notes => d.notes.as_str(),
                fields.labels => d.labels.as_str(),
            ))?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(BuiltIndex {
            index,
            reader,
            fields,
        })
    }

    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pages matching `query` that are live at `now` (in `series` if given),
    /// best first, `limit` from `offset`.
    pub fn search(
        &self,
        query: &str,
        now: i64,
        series: Option<i64>,
        offset: usize,
        limit: usize,
    ) -> tantivy::Result<Results> {
        let Some(text_query) = self.parse(query) else {
            return Ok(Results {
                total: 0,
                hits: Vec::new(),
            });
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, text_query.box_clone()),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Included(Term::from_field_i64(self.fields.live_at, now)),
                )),
            ),
        ];
        if let Some(series) = series {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_i64(self.fields.series, series),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let full = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let (top, total) = searcher.search(
            &full,
            &(TopDocs::with_limit(limit).and_offset(offset), Count),
        )?;
        let snippets = self.snippet_generators(&searcher, &*text_query)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            let id = document
                .get_first(self.fields.id)
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            let snippet = snippets
                .iter()
                .map(|generator| generator.snippet_from_doc(&document))
                .find(|s| !s.highlighted().is_empty())
                .map(|s| s.to_html())
                .unwrap_or_default();
            hits.push(Hit { id, score, snippet });
        }
        Ok(Results { total, hits })
    }

    fn snippet_generators(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
    ) -> tantivy::Result<Vec<SnippetGenerator>> {
        let f = self.fields;
        [f.transcript, f.notes, f.images, f.labels, f.title]
            .into_iter()
            .map(|field| {
                let mut generator = SnippetGenerator::create(searcher, query, field)?;
                generator.set_max_num_chars(180);
                Ok(generator)
            })
            .collect()
    }

    /// Words and "phrases" → a query needing every one of them in some field.
    fn parse(&self, input: &str) -> Option<Box<dyn Query>> {
        let f = self.fields;
        let fields = [
            (f.title, 3.0),
            (f.labels, 2.0),
            (f.transcript, 1.0),
            (f.images, 1.0),
            (f.notes, 1.0),
        ];
        let mut required: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // One budget of words for the whole query, phrases included: forty
        // quoted parts of twelve words each must not make a query 40× as big.
        let mut budget = MAX_WORDS;
        for (n, part) in input.split('"').enumerate() {
            if budget == 0 {
                break;
            }
            let mut words = self.words(part);
            words.truncate(budget);
            budget -= words.len();
            let quoted = n % 2 == 1;
            if quoted && words.len() > 1 {
                let any_field: Vec<(Occur, Box<dyn Query>)> = fields
                    .iter()
                    .map(|(field, boost)| {
                        let terms = words
                            .iter()
                            .map(|w| Term::from_field_text(*field, w))
                            .collect();
                        let q: Box<dyn Query> =
                            Box::new(BoostQuery::new(Box::new(PhraseQuery::new(terms)), *boost));
                        (Occur::Should, q)
                    })
                    .collect();
                required.push((Occur::Must, Box::new(BooleanQuery::new(any_field))));
                continue;
            }
            for word in words {
                let mut any_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for (field, boost) in fields {
                    let term = Term::from_field_text(field, &word);
                    // Exact words rank first, then longer words they begin,
                    // then words one typo away.
                    any_field.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                            boost * 4.0,
                        )),
                    ));
                    if word.chars().count() >= 2 {
                        any_field.push((
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, false)),
                                boost * 2.0,
                            )),
                        ));
                    }
                    if word.chars().count() >= 4 {
                        any_field.push((
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(FuzzyTermQuery::new(term, 1, true)),
                                boost,
                            )),
                        ));
                    }
                }
                required.push((Occur::Must, Box::new(BooleanQuery::new(any_field))));
            }
        }
        if required.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(required)))
    }

    fn words(&self, text: &str) -> Vec<String> {
        let Ok(mut analyzer) = self.index.tokenizer_for_field(self.fields.title) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() && words.len() < MAX_WORDS {
            words.push(stream.token().text.clone());
        }
        words
    }
}

/// Words a query may use in all (phrases included).
pub const MAX_WORDS: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_has_at_most_twelve_words_however_it_is_quoted() {
        let index = BuiltIndex::build(&[doc(1, "one two", "three", 10)]).expect("build");
        let many = (0..40)
            .map(|i| format!("\"w{i}a w{i}b w{i}c\""))
            .collect::<Vec<_>>()
            .join(" ");
        let query = index.parse(&many).expect("a query");
        // Twelve words in phrases of three: four phrase clauses, not forty.
        let text = format!("{query:?}");
        assert_eq!(text.matches("PhraseQuery").count(), 4 * 5, "{text:.300}");
    }

    fn doc(id: i64, title: &str, transcript: &str, live_at: i64) -> SearchDoc {
        SearchDoc {
            id,
            series_id: 1,
            title: title.into(),
            transcript: transcript.into(),
            live_at,
            ..SearchDoc::default()
        }
    }

    fn ids(index: &BuiltIndex, q: &str) -> Vec<i64> {
        index
            .search(q, 100, None, 0, 10)
            .expect("search")
            .hits
            .iter()
            .map(|h| h.id)
            .collect()
    }

    #[test]
    fn words_prefixes_typos_phrases_and_time() {
        let index = BuiltIndex::build(&[
            doc(1, "The dragon wakes", "A dragon opens one eye.", 10),
            doc(2, "Breakfast", "Toast, eggs, and a dragon egg.", 10),
            doc(3, "Tomorrow's page", "The dragon returns", 1000),
            doc(4, "Egg hunt", "The big egg is hidden behind the dragon", 10),
        ])
        .expect("build");
        assert_eq!(ids(&index, "dragon")[0], 1, "a title match ranks first");
        assert!(!ids(&index, "dragon").contains(&3), "not live yet");
        assert_eq!(ids(&index, "breakf"), vec![2], "prefix");
        assert_eq!(ids(&index, "dargon").len(), 3, "one typo");
        assert_eq!(ids(&index, "\"dragon egg\""), vec![2], "phrase");
        assert_eq!(ids(&index, "egg hidden"), vec![4], "every word required");
        assert!(ids(&index, "   ").is_empty());
        let results = index.search("opens", 100, None, 0, 10).expect("search");
        assert!(
            results.hits[0].snippet.contains("<b>opens</b>"),
            "{}",
            results.hits[0].snippet
        );
    }
}
