//! The `users` table: owner and editor accounts.

use serde::Serialize;

use crate::db::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including accounts and site settings.
    Owner,
    /// Content: pages, chapters, series, static pages, the queue.
    Editor,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
        }
    }
}

/// A validated, normalized e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err(format!("“{}” is not an e-mail address.", input.trim()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    password_hash: String,
}

impl UserRow {
    fn user(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: Role::parse(&self.role).unwrap_or(Role::Editor),
        }
    }
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

pub async fn list(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let rows: Vec<UserRow> =
        sqlx::query_as("SELECT id, email, name, role, password_hash FROM users ORDER BY id")
            .fetch_all(db)
            .await?;
    Ok(rows.iter().map(UserRow::user).collect())
}

/// The account and its password hash, for logging in.
pub async fn find_for_login(db: &Db, email: &str) -> Result<Option<(User, String)>, sqlx::Error> {
    let row: Option<UserRow> =
        sqlx::query_as("SELECT id, email, name, role, password_hash FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|r| (r.user(), r.password_hash)))
}

pub async fn password_hash(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with this e-mail address exists already")]
    Taken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates an account. The database, not a prior read, rejects duplicates.
pub async fn insert(
    db: &Db,
    email: &EmailAddress,
    name: &str,
    role: Role,
    password_hash: &str,
) -> Result<i64, CreateUserError> {
    let now = crate::db::now();
    let mut conn = db.pool().acquire().await?;
    let result = sqlx::query(
        "INSERT INTO users (email, name, password_hash, role, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(email.as_str())
    .bind(name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await;
    match result {
        Ok(done) => Ok(crate::db::dialect::inserted_id(&mut conn, &done).await?),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(CreateUserError::Taken),
        Err(e) => Err(e.into()),
    }
}

/// Creates the first (owner) account only while there is none, atomically:
/// two racing set-up forms cannot both succeed.
pub async fn insert_first_owner(
    db: &Db,
    email: &EmailAddress,
    name: &str,
    password_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let now = crate::db::now();
    let mut tx = db.pool().begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        return Ok(None);
    }
    let done = sqlx::query(
        "INSERT INTO users (email, name, password_hash, role, created_at, password_changed_at) VALUES (?, ?, ?, 'owner', ?, ?)",
    )
    .bind(email.as_str())
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let id = crate::db::dialect::inserted_id(&mut tx, &done).await?;
    // A racing transaction that also saw zero users inserts too; the later
    // commit then sees two rows and backs out.
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await?;
    if total != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(id))
}

pub async fn set_password(db: &Db, id: i64, password_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?")
        .bind(password_hash)
        .bind(crate::db::now())
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn delete(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
