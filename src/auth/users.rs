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

pub use crate::email::EmailAddress;

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

/// The setting that exists once the first owner was made: its unique name
/// is what makes the first-owner creation atomic.
const FIRST_OWNER: &str = "setup.first_owner";
/// The one-time code `/admin/setup` asks for (printed in the server log).
pub const SETUP_CODE: &str = "setup.code";

/// Creates the first (owner) account only while there is none, atomically:
/// two racing set-up forms cannot both succeed. Each inserts the same
/// settings row first (a plain INSERT on its primary key), so the second
/// waits for the first and then fails on the duplicate — whatever the
/// isolation level (counting users under MariaDB's REPEATABLE READ let both
/// through). The set-up code is spent in the same transaction.
pub async fn insert_first_owner(
    db: &Db,
    email: &EmailAddress,
    name: &str,
    password_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let now = crate::db::now();
    let mut tx = db.begin_write().await?;
    let claimed = sqlx::query("INSERT INTO settings (name, value) VALUES (?, ?)")
        .bind(FIRST_OWNER)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await;
    match claimed {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e),
    }
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        // Accounts made with `halftone user add` before anyone used set-up.
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
    sqlx::query("DELETE FROM settings WHERE name = ?")
        .bind(SETUP_CODE)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// The set-up code while the site has no account: made once (the first
/// node to ask stores it; every node reads the same one), `None` after.
pub async fn setup_code(db: &Db) -> Result<Option<String>, sqlx::Error> {
    if count(db).await? > 0 {
        return Ok(None);
    }
    let fresh = {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let mut rng = rand::rng();
        let mut code = String::with_capacity(14);
        for i in 0..12 {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
        }
        code
    };
    // Whoever inserts first wins; everyone then reads the winner's code.
    let _ = sqlx::query("INSERT INTO settings (name, value) VALUES (?, ?)")
        .bind(SETUP_CODE)
        .bind(&fresh)
        .execute(db)
        .await;
    sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
        .bind(SETUP_CODE)
        .fetch_optional(db)
        .await
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
