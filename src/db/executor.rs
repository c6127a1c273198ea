//! `&Db` is an sqlx executor that counts what it runs.
//!
//! Reader queries run as `query.fetch_all(db)`. Each statement adds one to
//! the global total (for `/metrics`) and to the current request's count,
//! which `Server-Timing` reports and the "no N+1" tests read. (sqlx runs
//! SQLite statements on a worker thread, so counting must happen here, at
//! the call, not in sqlx's own logging.)

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::any::{Any, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::Describe;
use sqlx::{Either, Execute, Executor};

use super::Db;
use crate::telemetry;

impl<'p> Executor<'p> for &'_ Db {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        telemetry::count_query();
        self.pool().fetch_many(query)
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        telemetry::count_query();
        self.pool().fetch_optional(query)
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.pool().prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.pool().describe(sql)
    }
}
