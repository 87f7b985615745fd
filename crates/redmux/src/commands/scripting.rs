//! Script and function administration: SCRIPT EXISTS, FLUSH and KILL; FUNCTION LIST
//! ([`LibraryInfo`], [`FunctionInfo`], [`FunctionListOptions`]) and FUNCTION FLUSH.
//!
//! Running scripts and functions is [`crate::Script`] and [`Client::fcall`], with
//! FUNCTION LOAD and DELETE, in `script.rs`.

use redmux_resp::{ToArg, Value};

use super::{Fields, FlushMode};
use crate::{Command, Commands, FromValue, Request, Result, cmd};

impl Commands {
    /// Whether the server's script cache holds each script, in the order given:
    /// `SCRIPT EXISTS sha1 [sha1 ...]`. [`crate::Script`] reloads a script it finds
    /// missing by itself; this is for looking, not for guarding a call.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let script = redmux::Script::new("return 1");
    /// let cached: Vec<bool> = client.script_exists([script.sha1()]).await?;
    /// # Ok(()) }
    /// ```
    pub fn script_exists(
        &self,
        sha1s: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<bool>> {
        self.request(cmd("SCRIPT").arg("EXISTS").args(sha1s))
    }

    /// Empties the server's script cache: `SCRIPT FLUSH`. The server's
    /// `lazyfree-lazy-user-flush` setting decides whether it frees the memory before
    /// replying; [`script_flush_with`](Self::script_flush_with) chooses. A
    /// [`crate::Script`] invoked afterwards is reloaded by itself.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.script_flush().await?;
    /// # Ok(()) }
    /// ```
    pub fn script_flush(&self) -> Request<'_, ()> {
        self.request(cmd("SCRIPT").arg("FLUSH"))
    }

    /// Empties the server's script cache, freeing the memory before replying or in
    /// the background: `SCRIPT FLUSH SYNC|ASYNC`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::FlushMode;
    /// client.script_flush_with(FlushMode::Async).await?;
    /// # Ok(()) }
    /// ```
    pub fn script_flush_with(&self, mode: FlushMode) -> Request<'_, ()> {
        self.request(with_mode(cmd("SCRIPT").arg("FLUSH"), mode))
    }

    /// Stops the script the server is running, if it has not written anything:
    /// `SCRIPT KILL`. The script's caller gets an error.
    ///
    /// Send it from another connection than the script's: a connection's commands
    /// run in order, so behind the script on its own connection (which every caller
    /// of this client shares) it would wait for the script to end. A second
    /// [`Client`] will do, or a [`Client::dedicated`] connection. The server takes
    /// other connections' commands only once the script has run for
    /// `busy-reply-threshold` (5 s unless configured); until then this waits too.
    ///
    /// # Errors
    ///
    /// The server's `NOTBUSY` when no script is running, and `UNKILLABLE` when the
    /// script has written (only SHUTDOWN NOSAVE stops it then).
    ///
    /// ```no_run
    /// # async fn run() -> redmux::Result<()> {
    /// // A client of its own: the busy one is stuck behind the script.
    /// let admin = redmux::Client::connect("redis://127.0.0.1:6379").await?;
    /// admin.script_kill().await?;
    /// # Ok(()) }
    /// ```
    pub fn script_kill(&self) -> Request<'_, ()> {
        self.request(cmd("SCRIPT").arg("KILL"))
    }

    /// Every function library, with its functions but not its code: `FUNCTION LIST`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for library in client.function_list().await? {
    ///     for function in &library.functions {
    ///         println!("{}.{} {:?}", library.name, function.name, function.flags);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn function_list(&self) -> Request<'_, Vec<LibraryInfo>> {
        self.request(cmd("FUNCTION").arg("LIST"))
    }

    /// The function libraries whose names match a pattern, or with their code:
    /// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::FunctionListOptions;
    /// let options = FunctionListOptions::new().library_name("counters*").with_code();
    /// for library in client.function_list_with(options).await? {
    ///     println!("{}:\n{}", library.name, library.code.unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn function_list_with(
        &self,
        options: FunctionListOptions,
    ) -> Request<'_, Vec<LibraryInfo>> {
        let mut command = cmd("FUNCTION").arg("LIST");
        if let Some(pattern) = options.library_name {
            command.push_arg("LIBRARYNAME").push_arg(pattern);
        }
        if options.with_code {
            command.push_arg("WITHCODE");
        }
        self.request(command)
    }

    /// Deletes every function library: `FUNCTION FLUSH`. The server's
    /// `lazyfree-lazy-user-flush` setting decides whether it frees the memory before
    /// replying; [`function_flush_with`](Self::function_flush_with) chooses.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.function_flush().await?;
    /// # Ok(()) }
    /// ```
    pub fn function_flush(&self) -> Request<'_, ()> {
        self.request(cmd("FUNCTION").arg("FLUSH"))
    }

    /// Deletes every function library, freeing the memory before replying or in the
    /// background: `FUNCTION FLUSH SYNC|ASYNC`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::FlushMode;
    /// client.function_flush_with(FlushMode::Sync).await?;
    /// # Ok(()) }
    /// ```
    pub fn function_flush_with(&self, mode: FlushMode) -> Request<'_, ()> {
        self.request(with_mode(cmd("FUNCTION").arg("FLUSH"), mode))
    }
}

fn with_mode(command: Command, mode: FlushMode) -> Command {
    command.arg(match mode {
        FlushMode::Sync => "SYNC",
        FlushMode::Async => "ASYNC",
    })
}

/// What [`Client::function_list_with`] asks for: libraries whose names match a
/// pattern (`*`, `?` and `[...]` as in KEYS), and their code.
///
/// ```
/// use redmux::FunctionListOptions;
/// // FUNCTION LIST LIBRARYNAME counters* WITHCODE
/// let options = FunctionListOptions::new().library_name("counters*").with_code();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunctionListOptions {
    library_name: Option<Vec<u8>>,
    with_code: bool,
}

impl FunctionListOptions {
    /// Every library, without its code.
    pub fn new() -> Self {
        FunctionListOptions::default()
    }

    /// `LIBRARYNAME pattern`: only libraries whose names match.
    pub fn library_name(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.library_name = Some(pattern.as_ref().to_vec());
        self
    }

    /// `WITHCODE`: each library's source in [`LibraryInfo::code`].
    pub fn with_code(mut self) -> Self {
        self.with_code = true;
        self
    }
}

/// One library in a [`FUNCTION LIST`](Client::function_list) reply. RESP2's flat
/// arrays and RESP3's maps read alike; fields a newer server adds are ignored.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// // FUNCTION LIST
/// let read_only: Vec<String> = client
///     .function_list()
///     .await?
///     .into_iter()
///     .flat_map(|library| library.functions)
///     .filter(|function| function.flags.iter().any(|flag| flag == "no-writes"))
///     .map(|function| function.name)
///     .collect();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryInfo {
    /// `library_name`
    pub name: String,
    /// `engine`: `LUA` on Redis 7.
    pub engine: String,
    /// `functions`: the functions it registers.
    pub functions: Vec<FunctionInfo>,
    /// `library_code`: its source, with
    /// [`with_code`](FunctionListOptions::with_code) only.
    pub code: Option<String>,
}

impl FromValue for LibraryInfo {
    fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::read(value, "a FUNCTION LIST library")?;
        Ok(LibraryInfo {
            name: f.take("library_name")?,
            engine: f.take("engine")?,
            functions: f.take("functions")?,
            code: f.take("library_code")?,
        })
    }
}

/// One function of a [`LibraryInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    /// `name`: what [`Client::fcall`] calls it by.
    pub name: String,
    /// `description`: `None` when it was registered without one.
    pub description: Option<String>,
    /// `flags`: `no-writes`, `allow-oom`, `allow-stale`, `no-cluster`,
    /// `allow-cross-slot-keys`, as it was registered.
    pub flags: Vec<String>,
}

impl FromValue for FunctionInfo {
    fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::read(value, "a FUNCTION LIST function")?;
        Ok(FunctionInfo {
            name: f.take("name")?,
            description: f.take("description")?,
            flags: f.take("flags")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn bulk(s: &'static str) -> Value {
        Value::from(s)
    }

    #[test]
    fn a_library_reads_alike_from_both_protocols() {
        let resp2 = Value::Array(vec![
            bulk("library_name"),
            bulk("lib"),
            bulk("engine"),
            bulk("LUA"),
            bulk("functions"),
            Value::Array(vec![Value::Array(vec![
                bulk("name"),
                bulk("f"),
                bulk("description"),
                Value::Nil,
                bulk("flags"),
                Value::Array(vec![Value::SimpleString("no-writes".into())]),
            ])]),
        ]);
        let resp3 = Value::Map(vec![
            (bulk("library_name"), bulk("lib")),
            (bulk("engine"), bulk("LUA")),
            (
                bulk("functions"),
                Value::Array(vec![Value::Map(vec![
                    (bulk("name"), bulk("f")),
                    (bulk("description"), Value::Nil),
                    (
                        bulk("flags"),
                        Value::Set(vec![Value::SimpleString("no-writes".into())]),
                    ),
                ])]),
            ),
            (bulk("library_code"), bulk("#!lua name=lib")),
        ]);
        let expected = LibraryInfo {
            name: "lib".into(),
            engine: "LUA".into(),
            functions: vec![FunctionInfo {
                name: "f".into(),
                description: None,
                flags: vec!["no-writes".into()],
            }],
            code: None,
        };
        assert_eq!(LibraryInfo::from_value(resp2).unwrap(), expected);
        let with_code = LibraryInfo::from_value(resp3).unwrap();
        assert_eq!(with_code.code.as_deref(), Some("#!lua name=lib"));
        assert_eq!(with_code.functions, expected.functions);
        assert!(matches!(
            LibraryInfo::from_value(Value::Integer(1)),
            Err(Error::Conversion { .. })
        ));
    }
}
