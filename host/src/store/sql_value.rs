//! Values that cross between the host and either database engine: the
//! parameters a statement binds ([`Param`]) and the columns a row returns
//! ([`FromColumn`]), in SQLite's five storage classes.
//!
//! This is the whole of the engine-neutral layer's type mapping: a statement
//! is written once in SQL both engines accept, and its values are bound and
//! read through these two traits. PostgreSQL is strict about integer widths
//! (`INTEGER` is 4 bytes, `BIGINT` 8), so an integer is converted to the
//! width of the column it meets, and refused if it does not fit.

use std::error::Error as StdError;

use postgres::types::{IsNull, ToSql as PgToSql, Type, to_sql_checked};

/// A parameter's value, borrowed, as a statement binds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SqlRef<'a> {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (also booleans, as 0 or 1).
    Integer(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

/// A column's value, owned, as a row returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// An integer of any width, or a boolean as 0 or 1.
    Integer(i64),
    /// A float of either width.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// Something a statement can bind as a parameter.
pub trait Param {
    /// The value to bind.
    fn sql_ref(&self) -> SqlRef<'_>;
}

impl<T: Param + ?Sized> Param for &T {
    fn sql_ref(&self) -> SqlRef<'_> {
        (**self).sql_ref()
    }
}

impl<T: Param> Param for Option<T> {
    fn sql_ref(&self) -> SqlRef<'_> {
        self.as_ref().map_or(SqlRef::Null, Param::sql_ref)
    }
}

impl Param for str {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Text(self)
    }
}

impl Param for String {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Text(self)
    }
}

impl Param for [u8] {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Blob(self)
    }
}

impl Param for Vec<u8> {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Blob(self)
    }
}

impl Param for f64 {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Real(*self)
    }
}

impl Param for f32 {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Real(f64::from(*self))
    }
}

impl Param for bool {
    fn sql_ref(&self) -> SqlRef<'_> {
        SqlRef::Integer(i64::from(*self))
    }
}

macro_rules! integer_params {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn sql_ref(&self) -> SqlRef<'_> {
                // Wider than i64 only past 2^63, which no record reaches;
                // such a value saturates rather than wraps.
                SqlRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
integer_params!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl rusqlite::ToSql for SqlRef<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            SqlRef::Null => ValueRef::Null,
            SqlRef::Integer(i) => ValueRef::Integer(i),
            SqlRef::Real(f) => ValueRef::Real(f),
            SqlRef::Text(s) => ValueRef::Text(s.as_bytes()),
            SqlRef::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl PgToSql for SqlRef<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match *self {
            SqlRef::Null => Ok(IsNull::Yes),
            SqlRef::Integer(i) => match *ty {
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT8 => i.to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be stored in a {ty} column").into()),
            },
            SqlRef::Real(f) => match *ty {
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            SqlRef::Text(s) => s.to_sql(ty, out),
            SqlRef::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::BOOL
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
                | Type::BYTEA
        )
    }

    to_sql_checked!();
}

impl SqlValue {
    fn kind(&self) -> &'static str {
        match self {
            SqlValue::Null => "NULL",
            SqlValue::Integer(_) => "an integer",
            SqlValue::Real(_) => "a real",
            SqlValue::Text(_) => "text",
            SqlValue::Blob(_) => "bytes",
        }
    }
}

/// Something a row's column can be read as.
pub trait FromColumn: Sized {
    /// Converts the column's value, or says why it cannot.
    fn from_column(value: &SqlValue) -> Result<Self, String>;
}

fn mismatch<T>(value: &SqlValue, wanted: &str) -> Result<T, String> {
    Err(format!("{} where {wanted} was expected", value.kind()))
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Null => Ok(None),
            other => T::from_column(other).map(Some),
        }
    }
}

impl FromColumn for String {
    fn from_column(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Text(s) => Ok(s.clone()),
            other => mismatch(other, "text"),
        }
    }
}

impl FromColumn for Vec<u8> {
    fn from_column(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Blob(b) => Ok(b.clone()),
            SqlValue::Text(s) => Ok(s.as_bytes().to_vec()),
            other => mismatch(other, "bytes"),
        }
    }
}

impl FromColumn for f64 {
    fn from_column(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Real(f) => Ok(*f),
            SqlValue::Integer(i) => Ok(*i as f64),
            other => mismatch(other, "a number"),
        }
    }
}

impl FromColumn for f32 {
    fn from_column(value: &SqlValue) -> Result<Self, String> {
        f64::from_column(value).map(|f| f as f32)
    }
}

impl FromColumn for bool {
    fn from_column(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Integer(i) => Ok(*i != 0),
            other => mismatch(other, "a boolean"),
        }
    }
}

macro_rules! integer_columns {
    ($($t:ty),*) => {$(
        impl FromColumn for $t {
            fn from_column(value: &SqlValue) -> Result<Self, String> {
                match value {
                    SqlValue::Integer(i) => <$t>::try_from(*i)
                        .map_err(|_| format!("{i} does not fit in {}", stringify!($t))),
                    other => mismatch(other, "an integer"),
                }
            }
        }
    )*};
}
integer_columns!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_convert_or_say_why_not() {
        assert_eq!(i64::from_column(&SqlValue::Integer(7)), Ok(7));
        assert_eq!(
            Option::<String>::from_column(&SqlValue::Null),
            Ok(None::<String>)
        );
        assert_eq!(bool::from_column(&SqlValue::Integer(1)), Ok(true));
        assert_eq!(f64::from_column(&SqlValue::Integer(2)), Ok(2.0));
        let error = u8::from_column(&SqlValue::Integer(300)).expect_err("too wide");
        assert!(error.contains("does not fit"), "{error}");
        let error = String::from_column(&SqlValue::Integer(1)).expect_err("not text");
        assert!(error.contains("an integer where text"), "{error}");
    }

    #[test]
    fn parameters_borrow_their_values() {
        let name = String::from("Y90001");
        assert_eq!(name.sql_ref(), SqlRef::Text("Y90001"));
        assert_eq!(Some(3u32).sql_ref(), SqlRef::Integer(3));
        assert_eq!(None::<&str>.sql_ref(), SqlRef::Null);
        assert_eq!(true.sql_ref(), SqlRef::Integer(1));
    }
}
