use alloc::string::{String, ToString};
use core::fmt;

/// An error returned to the caller: the call changes nothing and the caller reads `message`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Error {
    pub message: String,
}

impl Error {
    pub fn new(message: impl ToString) -> Self {
        Error {
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error::new(message)
    }
}

/// Returns `Err(Error::new(message))` from the enclosing function unless `condition` holds.
#[macro_export]
macro_rules! ensure {
    ($condition:expr, $message:expr) => {
        if !$condition {
            return ::core::result::Result::Err($crate::Error::new($message).into());
        }
    };
}
