//! Long text columns that decode on both engines.
//!
//! MariaDB sends `TEXT` columns with the `BLOB` wire type, and sqlx's `Any`
//! driver hands them over as bytes, which `String` refuses. Fields that map
//! to a MariaDB `TEXT`/`MEDIUMTEXT` column are read through `DbText`
//! (`#[sqlx(try_from = "DbText")]`), which accepts text or UTF-8 bytes.

use sqlx::any::{Any, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type, ValueRef};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbText(pub String);

impl Type<Any> for DbText {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        matches!(ty.kind(), AnyTypeInfoKind::Text | AnyTypeInfoKind::Blob)
    }
}

impl<'r> Decode<'r, Any> for DbText {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.type_info().kind() == AnyTypeInfoKind::Blob {
            let bytes = <Vec<u8> as Decode<Any>>::decode(value)?;
            Ok(DbText(String::from_utf8(bytes)?))
        } else {
            Ok(DbText(<String as Decode<Any>>::decode(value)?))
        }
    }
}

impl From<DbText> for String {
    fn from(text: DbText) -> Self {
        text.0
    }
}
