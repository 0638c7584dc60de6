//! JSON ⇄ SCALE by a contract's type registry.
//!
//! The mapping, for every type a contract's messages can hold:
//! - structs: objects with exactly their fields (`{}` for none); tuple structs of one field are
//!   that field's value, of several an array; tuples are arrays;
//! - enums: a unit variant is its name as a string, any other an object of one key, the name,
//!   whose value is the variant's fields as a struct's would be. Names are snake_case
//!   (`grant_until` for `GrantUntil`); the Rust spelling is taken too. `Option` is `null` or
//!   the value;
//! - `AccountId`: a `phx1…` address, or (going in) a name the caller resolves;
//! - bytes (`Vec<u8>`, `[u8; N]`): `0x…` hex;
//! - integers: numbers, except 128-bit ones, which are decimal strings (JSON numbers lose
//!   precision past 2^53); going in, a decimal string is taken for any integer;
//! - `String`, `char`, `bool`: themselves; sequences and arrays: arrays.
//!
//! An unknown or missing field, a wrong type, a number out of range, bytes left over or
//! missing: refused with the path (`command.transfer.amount`) and the type expected there.

use parity_scale_codec::{Compact, Decode, Encode};
use phalanx_primitives::AccountId;
use scale_info::form::PortableForm;
use scale_info::{Field, PortableRegistry, Type, TypeDef, TypeDefPrimitive};
use serde_json::{Map, Value};

/// Deepest nesting of types followed (recursive types could otherwise recurse without end).
pub const MAX_TYPE_DEPTH: usize = 64;
/// Most elements a decoded sequence of zero-sized elements may claim (a length prefix of
/// zero-sized elements costs no bytes, so the input's size cannot bound it).
pub const MAX_EMPTY_ELEMENTS: usize = 1 << 16;

/// Resolves the account names a JSON message may use instead of addresses.
pub trait AccountNames {
    fn account(&self, name: &str) -> Option<AccountId>;
}

/// Addresses only.
pub struct NoNames;

impl AccountNames for NoNames {
    fn account(&self, _name: &str) -> Option<AccountId> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: {problem}")]
pub struct TranscodeError {
    /// Where in the message: `command.transfer.amount`, `query result[2]`.
    pub path: String,
    pub problem: String,
}

pub(super) fn encode(
    types: &PortableRegistry,
    id: u32,
    json: &Value,
    root: &str,
    names: &dyn AccountNames,
) -> Result<Vec<u8>, TranscodeError> {
    let mut out = Vec::new();
    Encoder { types, names }.value(id, json, root, 0, &mut out)?;
    Ok(out)
}

pub(super) fn decode(
    types: &PortableRegistry,
    id: u32,
    bytes: &[u8],
    root: &str,
) -> Result<Value, TranscodeError> {
    let mut input = bytes;
    let value = Decoder { types }.value(id, &mut input, root, 0)?;
    if !input.is_empty() {
        return Err(TranscodeError {
            path: root.to_string(),
            problem: format!(
                "{} bytes left over after {}",
                input.len(),
                describe(types, id)
            ),
        });
    }
    Ok(value)
}

fn fail(path: &str, problem: impl Into<String>) -> TranscodeError {
    TranscodeError {
        path: path.to_string(),
        problem: problem.into(),
    }
}

/// `GrantUntil` → `grant_until`.
pub(crate) fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn resolve<'t>(
    types: &'t PortableRegistry,
    id: u32,
    path: &str,
) -> Result<&'t Type<PortableForm>, TranscodeError> {
    types
        .resolve(id)
        .ok_or_else(|| fail(path, format!("the metadata has no type {id}")))
}

fn type_name(ty: &Type<PortableForm>) -> Option<&str> {
    ty.path.segments.last().map(String::as_str)
}

fn is_account(ty: &Type<PortableForm>) -> bool {
    type_name(ty) == Some("AccountId")
        && matches!(&ty.type_def, TypeDef::Composite(c) if c.fields.len() == 1)
}

fn is_option(ty: &Type<PortableForm>) -> bool {
    ty.path.segments == ["Option"]
}

fn is_byte(types: &PortableRegistry, id: u32) -> bool {
    matches!(
        types.resolve(id).map(|t| &t.type_def),
        Some(TypeDef::Primitive(TypeDefPrimitive::U8))
    )
}

/// What a value of type `id` looks like in JSON, for error messages.
pub(crate) fn describe(types: &PortableRegistry, id: u32) -> String {
    let Some(ty) = types.resolve(id) else {
        return format!("type {id}");
    };
    if is_account(ty) {
        return "an account (a name or phx1… address)".into();
    }
    let named = |what: String| match type_name(ty) {
        Some(name) => format!("{name} ({what})"),
        None => what,
    };
    match &ty.type_def {
        // A newtype reads as what it wraps.
        TypeDef::Composite(c) if c.fields.len() == 1 && c.fields[0].name.is_none() => {
            describe(types, c.fields[0].ty.id)
        }
        TypeDef::Composite(c) => named(describe_fields(types, &c.fields)),
        TypeDef::Variant(v) if is_option(ty) => {
            match v.variants.iter().find(|v| v.name == "Some") {
                Some(some) if some.fields.len() == 1 => {
                    format!("null or {}", describe(types, some.fields[0].ty.id))
                }
                _ => "an Option".into(),
            }
        }
        TypeDef::Variant(v) => named(format!(
            "one of: {}",
            v.variants
                .iter()
                .map(|v| snake_case(&v.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        TypeDef::Sequence(s) if is_byte(types, s.type_param.id) => "bytes as 0x… hex".into(),
        TypeDef::Sequence(s) => format!("an array of {}", describe(types, s.type_param.id)),
        TypeDef::Array(a) if is_byte(types, a.type_param.id) => {
            format!("{} bytes as 0x… hex", a.len)
        }
        TypeDef::Array(a) => format!(
            "an array of {} × {}",
            a.len,
            describe(types, a.type_param.id)
        ),
        TypeDef::Tuple(t) if t.fields.is_empty() => "null".into(),
        TypeDef::Tuple(t) => format!("an array of {} values", t.fields.len()),
        TypeDef::Primitive(p) => primitive_name(p).into(),
        TypeDef::Compact(c) => describe(types, c.type_param.id),
        TypeDef::BitSequence(_) => "a bit sequence (not supported)".into(),
    }
}

fn field_names(fields: &[Field<PortableForm>]) -> Vec<&str> {
    fields.iter().filter_map(|f| f.name.as_deref()).collect()
}

fn primitive_name(p: &TypeDefPrimitive) -> &'static str {
    use TypeDefPrimitive::*;
    match p {
        Bool => "a boolean",
        Char => "a one-character string",
        Str => "a string",
        U8 => "an integer 0..=255",
        U16 => "an integer 0..=65535",
        U32 => "a u32 integer",
        U64 => "a u64 integer",
        U128 => "a u128 as a decimal string",
        U256 => "a u256 (not supported)",
        I8 => "an i8 integer",
        I16 => "an i16 integer",
        I32 => "an i32 integer",
        I64 => "an i64 integer",
        I128 => "an i128 as a decimal string",
        I256 => "an i256 (not supported)",
    }
}

fn found(json: &Value) -> String {
    let text = json.to_string();
    if text.len() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.strip_prefix("0x")?).ok()
}

struct Encoder<'a> {
    types: &'a PortableRegistry,
    names: &'a dyn AccountNames,
}

impl Encoder<'_> {
    fn wrong(&self, id: u32, json: &Value, path: &str) -> TranscodeError {
        fail(
            path,
            format!(
                "expected {}, found {}",
                describe(self.types, id),
                found(json)
            ),
        )
    }

    fn value(
        &self,
        id: u32,
        json: &Value,
        path: &str,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(fail(path, "types nest deeper than this client follows"));
        }
        let ty = resolve(self.types, id, path)?;
        if is_account(ty) {
            return self.account(id, json, path, out);
        }
        match &ty.type_def {
            TypeDef::Composite(c) => self.fields(id, &c.fields, json, path, depth, out),
            TypeDef::Variant(v) if is_option(ty) => {
                let (variant, value) = match json {
                    Value::Null => ("None", None),
                    other => ("Some", Some(other)),
                };
                let chosen = v
                    .variants
                    .iter()
                    .find(|v| v.name == variant)
                    .ok_or_else(|| self.wrong(id, json, path))?;
                out.push(chosen.index);
                match (value, chosen.fields.first()) {
                    (Some(value), Some(field)) => {
                        self.value(field.ty.id, value, path, depth + 1, out)
                    }
                    _ => Ok(()),
                }
            }
            TypeDef::Variant(v) => {
                let (name, fields_json) = match json {
                    Value::String(name) => (name.as_str(), None),
                    Value::Object(map) if map.len() == 1 => {
                        let (name, value) = map.iter().next().expect("one entry");
                        (name.as_str(), Some(value))
                    }
                    _ => return Err(self.wrong(id, json, path)),
                };
                let variant = v
                    .variants
                    .iter()
                    .find(|v| snake_case(&v.name) == name || v.name == name)
                    .ok_or_else(|| {
                        fail(
                            path,
                            format!("unknown `{name}`: expected {}", describe(self.types, id)),
                        )
                    })?;
                out.push(variant.index);
                let path = format!("{path}.{}", snake_case(&variant.name));
                match fields_json {
                    None if variant.fields.is_empty() => Ok(()),
                    None => Err(fail(
                        &path,
                        format!(
                            "`{name}` takes {}",
                            describe_fields(self.types, &variant.fields)
                        ),
                    )),
                    Some(value) => self.fields(id, &variant.fields, value, &path, depth, out),
                }
            }
            TypeDef::Sequence(s) if is_byte(self.types, s.type_param.id) => {
                let bytes = json
                    .as_str()
                    .and_then(parse_hex)
                    .ok_or_else(|| self.wrong(id, json, path))?;
                bytes.encode_to(out);
                Ok(())
            }
            TypeDef::Sequence(s) => {
                let items = json.as_array().ok_or_else(|| self.wrong(id, json, path))?;
                Compact(items.len() as u32).encode_to(out);
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{path}[{i}]");
                    self.value(s.type_param.id, item, &path, depth + 1, out)?;
                }
                Ok(())
            }
            TypeDef::Array(a) if is_byte(self.types, a.type_param.id) => {
                let bytes = json
                    .as_str()
                    .and_then(parse_hex)
                    .filter(|b| b.len() == a.len as usize)
                    .ok_or_else(|| self.wrong(id, json, path))?;
                out.extend_from_slice(&bytes);
                Ok(())
            }
            TypeDef::Array(a) => {
                let items = json
                    .as_array()
                    .filter(|items| items.len() == a.len as usize)
                    .ok_or_else(|| self.wrong(id, json, path))?;
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{path}[{i}]");
                    self.value(a.type_param.id, item, &path, depth + 1, out)?;
                }
                Ok(())
            }
            TypeDef::Tuple(t) if t.fields.is_empty() => match json {
                Value::Null => Ok(()),
                _ => Err(self.wrong(id, json, path)),
            },
            TypeDef::Tuple(t) => {
                let items = json
                    .as_array()
                    .filter(|items| items.len() == t.fields.len())
                    .ok_or_else(|| self.wrong(id, json, path))?;
                for (i, (item, field)) in items.iter().zip(&t.fields).enumerate() {
                    let path = format!("{path}[{i}]");
                    self.value(field.id, item, &path, depth + 1, out)?;
                }
                Ok(())
            }
            TypeDef::Primitive(p) => self.primitive(id, p, json, path, out),
            // The compact form does not depend on the integer's width.
            TypeDef::Compact(_) => {
                let n: u128 = integer(json).ok_or_else(|| self.wrong(id, json, path))?;
                Compact(n).encode_to(out);
                Ok(())
            }
            TypeDef::BitSequence(_) => Err(fail(path, "bit sequences are not supported")),
        }
    }

    /// A struct's or variant's fields from an object (named), a value (one unnamed) or an
    /// array (several unnamed).
    fn fields(
        &self,
        id: u32,
        fields: &[Field<PortableForm>],
        json: &Value,
        path: &str,
        depth: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        if fields.iter().all(|f| f.name.is_some()) {
            let map = match json {
                Value::Object(map) => map,
                _ => {
                    return Err(fail(
                        path,
                        format!(
                            "expected {}, found {}",
                            describe_fields(self.types, fields),
                            found(json)
                        ),
                    ))
                }
            };
            let expected = field_names(fields);
            if let Some(unknown) = map.keys().find(|k| !expected.contains(&k.as_str())) {
                return Err(fail(
                    path,
                    format!(
                        "unknown field `{unknown}`; the fields are: {}",
                        expected.join(", ")
                    ),
                ));
            }
            for field in fields {
                let name = field.name.as_deref().expect("all named");
                let path = format!("{path}.{name}");
                let value = map.get(name).ok_or_else(|| {
                    fail(
                        &path,
                        format!("missing; expected {}", describe(self.types, field.ty.id)),
                    )
                })?;
                self.value(field.ty.id, value, &path, depth + 1, out)?;
            }
            return Ok(());
        }
        if fields.len() == 1 {
            return self.value(fields[0].ty.id, json, path, depth + 1, out);
        }
        let items = json
            .as_array()
            .filter(|items| items.len() == fields.len())
            .ok_or_else(|| self.wrong(id, json, path))?;
        for (i, (item, field)) in items.iter().zip(fields).enumerate() {
            let path = format!("{path}[{i}]");
            self.value(field.ty.id, item, &path, depth + 1, out)?;
        }
        Ok(())
    }

    fn account(
        &self,
        id: u32,
        json: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        let text = json.as_str().ok_or_else(|| self.wrong(id, json, path))?;
        let account = match text.parse::<AccountId>() {
            Ok(account) => account,
            Err(_) => self.names.account(text).ok_or_else(|| {
                fail(
                    path,
                    format!("`{text}` is neither a phx1… address nor a known account name"),
                )
            })?,
        };
        out.extend_from_slice(account.as_bytes());
        Ok(())
    }

    fn primitive(
        &self,
        id: u32,
        p: &TypeDefPrimitive,
        json: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), TranscodeError> {
        use TypeDefPrimitive::*;
        let wrong = || self.wrong(id, json, path);
        macro_rules! int_as {
            ($t:ty) => {
                integer::<$t>(json).ok_or_else(wrong)?.encode_to(out)
            };
        }
        match p {
            Bool => json.as_bool().ok_or_else(wrong)?.encode_to(out),
            Char => {
                let text = json.as_str().ok_or_else(wrong)?;
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => (c as u32).encode_to(out),
                    _ => return Err(wrong()),
                }
            }
            Str => json.as_str().ok_or_else(wrong)?.encode_to(out),
            U8 => int_as!(u8),
            U16 => int_as!(u16),
            U32 => int_as!(u32),
            U64 => int_as!(u64),
            U128 => int_as!(u128),
            I8 => int_as!(i8),
            I16 => int_as!(i16),
            I32 => int_as!(i32),
            I64 => int_as!(i64),
            I128 => int_as!(i128),
            U256 | I256 => return Err(fail(path, "256-bit integers are not supported")),
        }
        Ok(())
    }
}

fn describe_fields(types: &PortableRegistry, fields: &[Field<PortableForm>]) -> String {
    if fields.iter().all(|f| f.name.is_some()) {
        let names = field_names(fields);
        if names.is_empty() {
            return "{}".into();
        }
        return format!("an object with fields {}", names.join(", "));
    }
    if fields.len() == 1 {
        return describe(types, fields[0].ty.id);
    }
    format!("an array of {} values", fields.len())
}

/// A JSON integer or decimal string as the integer type `T` (`None` if it is neither, or out
/// of `T`'s range). Parsed straight into `T`, so a u128 above `i128::MAX` is no special case.
fn integer<T: std::str::FromStr>(json: &Value) -> Option<T> {
    match json {
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string().parse().ok(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

struct Decoder<'a> {
    types: &'a PortableRegistry,
}

impl Decoder<'_> {
    fn short(&self, id: u32, path: &str, e: parity_scale_codec::Error) -> TranscodeError {
        fail(
            path,
            format!("does not decode as {}: {e}", describe(self.types, id)),
        )
    }

    fn value(
        &self,
        id: u32,
        input: &mut &[u8],
        path: &str,
        depth: usize,
    ) -> Result<Value, TranscodeError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(fail(path, "types nest deeper than this client follows"));
        }
        let ty = resolve(self.types, id, path)?;
        if is_account(ty) {
            let bytes = <[u8; 32]>::decode(input).map_err(|e| self.short(id, path, e))?;
            return Ok(Value::String(AccountId::from_bytes(bytes).to_string()));
        }
        match &ty.type_def {
            TypeDef::Composite(c) => self.fields(&c.fields, input, path, depth),
            TypeDef::Variant(v) => {
                let index = u8::decode(input).map_err(|e| self.short(id, path, e))?;
                let variant = v
                    .variants
                    .iter()
                    .find(|v| v.index == index)
                    .ok_or_else(|| {
                        fail(
                            path,
                            format!(
                                "variant index {index} is none of {}",
                                describe(self.types, id)
                            ),
                        )
                    })?;
                if is_option(ty) {
                    return match variant.fields.first() {
                        None => Ok(Value::Null),
                        Some(field) => self.value(field.ty.id, input, path, depth + 1),
                    };
                }
                let name = snake_case(&variant.name);
                if variant.fields.is_empty() {
                    return Ok(Value::String(name));
                }
                let path = format!("{path}.{name}");
                let fields = self.fields(&variant.fields, input, &path, depth)?;
                Ok(Value::Object(Map::from_iter([(name, fields)])))
            }
            TypeDef::Sequence(s) if is_byte(self.types, s.type_param.id) => {
                let bytes = Vec::<u8>::decode(input).map_err(|e| self.short(id, path, e))?;
                Ok(Value::String(format!("0x{}", hex::encode(bytes))))
            }
            TypeDef::Sequence(s) => {
                let len = Compact::<u32>::decode(input)
                    .map_err(|e| self.short(id, path, e))?
                    .0 as usize;
                if len > input.len() && len > MAX_EMPTY_ELEMENTS {
                    return Err(fail(
                        path,
                        format!("claims {len} elements in {} bytes", input.len()),
                    ));
                }
                (0..len)
                    .map(|i| {
                        let path = format!("{path}[{i}]");
                        self.value(s.type_param.id, input, &path, depth + 1)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            TypeDef::Array(a) if is_byte(self.types, a.type_param.id) => {
                let len = a.len as usize;
                if input.len() < len {
                    return Err(fail(
                        path,
                        format!("needs {len} bytes, {} are left", input.len()),
                    ));
                }
                let (bytes, rest) = input.split_at(len);
                *input = rest;
                Ok(Value::String(format!("0x{}", hex::encode(bytes))))
            }
            TypeDef::Array(a) => (0..a.len)
                .map(|i| {
                    let path = format!("{path}[{i}]");
                    self.value(a.type_param.id, input, &path, depth + 1)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            TypeDef::Tuple(t) if t.fields.is_empty() => Ok(Value::Null),
            TypeDef::Tuple(t) => t
                .fields
                .iter()
                .enumerate()
                .map(|(i, field)| {
                    let path = format!("{path}[{i}]");
                    self.value(field.id, input, &path, depth + 1)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            TypeDef::Primitive(p) => self.primitive(id, p, input, path),
            TypeDef::Compact(_) => {
                let n = Compact::<u128>::decode(input).map_err(|e| self.short(id, path, e))?;
                Ok(number_or_string(n.0))
            }
            TypeDef::BitSequence(_) => Err(fail(path, "bit sequences are not supported")),
        }
    }

    fn fields(
        &self,
        fields: &[Field<PortableForm>],
        input: &mut &[u8],
        path: &str,
        depth: usize,
    ) -> Result<Value, TranscodeError> {
        if fields.iter().all(|f| f.name.is_some()) {
            let mut map = Map::new();
            for field in fields {
                let name = field.name.clone().expect("all named");
                let path = format!("{path}.{name}");
                let value = self.value(field.ty.id, input, &path, depth + 1)?;
                map.insert(name, value);
            }
            return Ok(Value::Object(map));
        }
        if fields.len() == 1 {
            return self.value(fields[0].ty.id, input, path, depth + 1);
        }
        fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let path = format!("{path}[{i}]");
                self.value(field.ty.id, input, &path, depth + 1)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    fn primitive(
        &self,
        id: u32,
        p: &TypeDefPrimitive,
        input: &mut &[u8],
        path: &str,
    ) -> Result<Value, TranscodeError> {
        use TypeDefPrimitive::*;
        let short = |e| self.short(id, path, e);
        Ok(match p {
            Bool => Value::Bool(bool::decode(input).map_err(short)?),
            Char => {
                let code = u32::decode(input).map_err(short)?;
                let c = char::from_u32(code)
                    .ok_or_else(|| fail(path, format!("{code} is not a character")))?;
                Value::String(c.to_string())
            }
            Str => Value::String(String::decode(input).map_err(short)?),
            U8 => Value::from(u8::decode(input).map_err(short)?),
            U16 => Value::from(u16::decode(input).map_err(short)?),
            U32 => Value::from(u32::decode(input).map_err(short)?),
            U64 => Value::from(u64::decode(input).map_err(short)?),
            U128 => Value::String(u128::decode(input).map_err(short)?.to_string()),
            I8 => Value::from(i8::decode(input).map_err(short)?),
            I16 => Value::from(i16::decode(input).map_err(short)?),
            I32 => Value::from(i32::decode(input).map_err(short)?),
            I64 => Value::from(i64::decode(input).map_err(short)?),
            I128 => Value::String(i128::decode(input).map_err(short)?.to_string()),
            U256 | I256 => return Err(fail(path, "256-bit integers are not supported")),
        })
    }
}

/// A compact integer: a number while it fits a u64, else a decimal string.
fn number_or_string(n: u128) -> Value {
    match u64::try_from(n) {
        Ok(small) => Value::from(small),
        Err(_) => Value::String(n.to_string()),
    }
}
