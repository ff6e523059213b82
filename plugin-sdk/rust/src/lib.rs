//! Write toolhost tool plugins in Rust.
//!
//! A tool is a plain function from the call and its arguments (one JSON object, as UTF-8 text, already
//! validated against the tool's input schema) to a JSON result or an [`Error`] with its status:
//!
//! ```
//! use toolhost::{json, Call, Error, Tool};
//!
//! fn shout(_call: &Call, args: &str) -> Result<String, Error> {
//!     let args = json::parse(args)?;
//!     Ok(json::string(&args.str_member("text")?.to_uppercase()))
//! }
//!
//! toolhost::plugin! {
//!     name: c"shout",
//!     version: c"1.0.0",
//!     tools: [Tool::new(c"shout", c"Upper-case a text.", shout).thread_safe()],
//! }
//! # fn main() {}
//! ```
//!
//! [`plugin!`] emits the one exported symbol, `toolhost_plugin_entry`, and an init that registers the tools.
//! At the boundary every handler runs under `catch_unwind`: a panic becomes a `TOOLHOST_ERR_FAILED` with the
//! panic's message, never an unwind into the host (keep the default `panic = "unwind"`; under `"abort"` a panic
//! ends the process, which only a worker-process plugin survives).

pub mod abi;
pub mod json;

use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Why a call failed, as the host sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The arguments were wrong; the caller must change them (`invalid_arguments`). Not retried.
    InvalidArguments,
    /// A transient failure; the host may retry a deterministic or idempotent tool.
    Transient,
    /// The tool failed; retrying will not help (`plugin_error`).
    Failed,
}

impl Status {
    /// The `toolhost_status` code.
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArguments => abi::STATUS_INVALID_ARGUMENTS,
            Status::Transient => abi::STATUS_TRANSIENT,
            Status::Failed => abi::STATUS_FAILED,
        }
    }
}

/// A tool's failure: its status and a message for the caller (say what was wrong and what to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }
    /// The caller's arguments were wrong.
    pub fn invalid_arguments(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArguments, message)
    }
    /// Worth retrying.
    pub fn transient(message: impl Into<String>) -> Error {
        Error::new(Status::Transient, message)
    }
    /// Not worth retrying.
    pub fn failed(message: impl Into<String>) -> Error {
        Error::new(Status::Failed, message)
    }
}

/// Log levels of the host's log function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warning = 3,
    Error = 4,
}

/// A handler: the call and its arguments (a JSON object) to the result (JSON text) or an error.
pub type Handler = fn(&Call, &str) -> Result<String, Error>;

/// One tool: its name (`[a-z0-9_]+`, as in manifest.json), a one-line description and its handler.
pub struct Tool {
    name: &'static CStr,
    description: &'static CStr,
    handler: Handler,
    flags: u32,
}

impl Tool {
    /// A tool the host never runs twice at once (add [`Tool::thread_safe`] when the handler may).
    pub const fn new(name: &'static CStr, description: &'static CStr, handler: Handler) -> Tool {
        Tool { name, description, handler, flags: 0 }
    }

    /// The handler may run on several threads at once.
    pub const fn thread_safe(mut self) -> Tool {
        self.flags |= abi::TOOL_THREAD_SAFE;
        self
    }
}

/// The call a handler serves. Valid only while the handler runs, on its thread.
pub struct Call<'a> {
    raw: &'a abi::Call,
}

impl Call<'_> {
    fn host(&self) -> Option<&abi::HostApi> {
        // SAFETY: the header promises `host` valid for the life of the plugin (checked for NULL all the same).
        unsafe { self.raw.host.as_ref() }
    }

    /// The tool's registered name.
    pub fn tool_name(&self) -> &str {
        if self.raw.tool_name.is_null() {
            return "";
        }
        // SAFETY: a NUL-terminated string owned by the host for the call.
        unsafe { CStr::from_ptr(self.raw.tool_name) }.to_str().unwrap_or("")
    }

    /// True once the call was cancelled or passed its deadline: return soon after it turns true.
    pub fn is_cancelled(&self) -> bool {
        match self.host().and_then(|host| host.is_cancelled) {
            // SAFETY: called on the call's thread while the handler runs.
            Some(is_cancelled) => unsafe { is_cancelled(self.raw) != 0 },
            None => false,
        }
    }

    /// The call's deadline in nanoseconds of CLOCK_MONOTONIC, or None.
    pub fn deadline_ns(&self) -> Option<u64> {
        let deadline_ns = self.host()?.deadline_ns?;
        // SAFETY: as for is_cancelled.
        match unsafe { deadline_ns(self.raw) } {
            0 => None,
            ns => Some(ns),
        }
    }

    /// Reports how far the call has come (ABI 1.2): `done` so far (finite, at least 0; it should grow), of `total`
    /// when known, with a short status line (at most 256 bytes are kept). Cheap: the host keeps only the latest
    /// report and hands it to the caller at most every ~50 ms, so report as often as is convenient.
    ///
    /// Returns false when the report was refused (the call is over: it passed its deadline or was cancelled; or
    /// `done` is not a finite number at least 0) or the host is older than 1.2 (its table has no report_progress);
    /// the call goes on either way.
    pub fn report_progress(&self, done: f64, total: Option<f64>, message: &str) -> bool {
        let Some(host) = self.host() else { return false };
        if !host.covers(std::mem::offset_of!(abi::HostApi, report_progress)) {
            return false;
        }
        let Some(report) = host.report_progress else { return false };
        // SAFETY: called on the call's thread while the handler runs; the message is only read during the call.
        unsafe { report(self.raw, done, total.unwrap_or(-1.0), message.as_ptr().cast(), message.len()) == 0 }
    }

    /// Logs a message about this call under the plugin's name.
    pub fn log(&self, level: Level, message: &str) {
        if let Some(host) = self.host() {
            if let Some(log) = host.log {
                // SAFETY: the message is only read during the call.
                unsafe { log(host, self.raw, level as i32, message.as_ptr().cast(), message.len()) }
            }
        }
    }

    fn write(&self, result: bool, text: &str) -> bool {
        let Some(host) = self.host() else { return false };
        let Some(write) = (if result { host.write_result } else { host.write_error }) else { return false };
        // SAFETY: the host copies the bytes before it returns.
        unsafe { write(self.raw, text.as_ptr().cast(), text.len()) == 0 }
    }
}

/// The host's table, kept from init so the plugin can log outside a call.
static HOST: AtomicPtr<abi::HostApi> = AtomicPtr::new(std::ptr::null_mut());

/// Logs a message outside any call (from init, or from a thread of the plugin's own). Does nothing before init.
pub fn log(level: Level, message: &str) {
    let host = HOST.load(Ordering::Acquire);
    // SAFETY: the table stays valid for the life of the plugin; log with a NULL call is [thread-safe].
    if let Some(host) = unsafe { host.as_ref() } {
        if let Some(log) = host.log {
            unsafe { log(host, std::ptr::null(), level as i32, message.as_ptr().cast(), message.len()) }
        }
    }
}

/// The text of a panic's payload (what `panic!` was given).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

std::thread_local! {
    /// Set while a handler runs on this thread: its panics are reported as the call's error, not printed.
    static IN_HANDLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where the last panic in a handler on this thread happened ("src/lib.rs:13:9").
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs (once per plugin library: each cdylib has its own std) a panic hook that keeps a handler's panic
/// off the host's stderr, which may be a protocol stream, and remembers its location for the error message;
/// a panic anywhere else goes to the hook that was there before.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_HANDLER.with(|flag| flag.get()) {
                let location = info.location().map(|at| format!("{}:{}:{}", at.file(), at.line(), at.column()));
                PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs a handler with its panics marked as the call's own.
fn run_handler(tool: &Tool, call: &Call, args: &str) -> std::thread::Result<Result<String, Error>> {
    IN_HANDLER.with(|flag| flag.set(true));
    PANIC_LOCATION.with(|slot| slot.borrow_mut().take());
    let outcome = catch_unwind(AssertUnwindSafe(|| (tool.handler)(call, args)));
    IN_HANDLER.with(|flag| flag.set(false));
    outcome
}

/// The one C handler every tool is registered with; `tool_state` points at the [`Tool`].
unsafe extern "C" fn trampoline(raw: *const abi::Call, args: *const c_char, args_len: usize) -> i32 {
    // Nothing unwinds out of here: the handler runs under catch_unwind, and so does the reporting.
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host passes a valid call for the handler's duration.
        let Some(raw) = (unsafe { raw.as_ref() }) else { return abi::STATUS_FAILED };
        let call = Call { raw };
        // SAFETY: tool_state is the &'static Tool given at registration.
        let Some(tool) = (unsafe { (raw.tool_state as *const Tool).as_ref() }) else { return abi::STATUS_FAILED };
        let bytes: &[u8] = if args.is_null() || args_len == 0 {
            b"{}"
        } else {
            // SAFETY: args_len bytes owned by the host until the handler returns.
            unsafe { std::slice::from_raw_parts(args.cast(), args_len) }
        };
        let outcome = match std::str::from_utf8(bytes) {
            Ok(text) => run_handler(tool, &call, text),
            Err(_) => Ok(Err(Error::invalid_arguments("the arguments are not UTF-8"))),
        };
        match outcome {
            Ok(Ok(result)) => {
                if call.write(true, &result) {
                    abi::STATUS_OK
                } else {
                    call.write(false, "the result was refused: it is over the tool's output limit, or the call ended");
                    abi::STATUS_FAILED
                }
            }
            Ok(Err(error)) => {
                call.write(false, &error.message);
                error.status.code()
            }
            Err(payload) => {
                let mut message = format!("tool '{}' panicked: {}", call.tool_name(), panic_message(payload.as_ref()));
                if let Some(location) = PANIC_LOCATION.with(|slot| slot.borrow_mut().take()) {
                    message += &format!(" (at {location})");
                }
                call.log(Level::Error, &message);
                call.write(false, &message);
                abi::STATUS_FAILED
            }
        }
    }))
    .unwrap_or(abi::STATUS_FAILED)
}

/// Registers `tools` (what [`plugin!`]'s init does). Not for direct use.
#[doc(hidden)]
pub unsafe fn __register(host: *const abi::HostApi, registrar: *const abi::Registrar, tools: &'static [Tool]) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        HOST.store(host as *mut abi::HostApi, Ordering::Release);
        install_panic_hook();
        // SAFETY: valid during init.
        let Some(registrar) = (unsafe { registrar.as_ref() }) else { return abi::STATUS_FAILED };
        let Some(register_tool) = registrar.register_tool else {
            log(Level::Error, "the host's registrar has no register_tool");
            return abi::STATUS_FAILED;
        };
        for tool in tools {
            let desc = abi::ToolDesc {
                struct_size: std::mem::size_of::<abi::ToolDesc>() as u32,
                flags: tool.flags,
                name: tool.name.as_ptr(),
                description: tool.description.as_ptr(),
                handler: Some(trampoline),
                tool_state: tool as *const Tool as *mut c_void,
            };
            // SAFETY: the host copies the descriptor during the call.
            if unsafe { register_tool(registrar, &desc) } != 0 {
                log(
                    Level::Error,
                    &format!(
                        "the host refused tool '{}': a duplicate name, or a name that is not [a-z0-9_]+",
                        tool.name.to_string_lossy()
                    ),
                );
                return abi::STATUS_FAILED;
            }
        }
        abi::STATUS_OK
    }))
    .unwrap_or(abi::STATUS_FAILED)
}

/// The plugin's descriptor, static data the entry returns.
#[repr(transparent)]
pub struct Plugin(abi::PluginDesc);

// SAFETY: the descriptor holds pointers to 'static C strings and functions only; nobody writes it.
unsafe impl Sync for Plugin {}

/// `init` as the descriptor holds it.
pub type InitFn =
    unsafe extern "C" fn(host: *const abi::HostApi, registrar: *const abi::Registrar, state: *mut *mut c_void) -> i32;

impl Plugin {
    /// A descriptor for ABI 1.1 with `init` (see [`plugin!`], which writes it for you).
    pub const fn new(name: &'static CStr, version: &'static CStr, init: InitFn) -> Plugin {
        Plugin(abi::PluginDesc {
            struct_size: std::mem::size_of::<abi::PluginDesc>() as u32,
            abi_major: abi::ABI_MAJOR,
            abi_minor: abi::ABI_MINOR,
            reserved: 0,
            name: name.as_ptr(),
            version: version.as_ptr(),
            init: Some(init),
            deinit: None,
        })
    }

    /// What the entry returns.
    pub fn descriptor(&'static self) -> *const abi::PluginDesc {
        &self.0
    }
}

/// Emits the plugin: its descriptor, an init that registers the tools, and the one exported symbol,
/// `toolhost_plugin_entry`. `name` and `version` are C string literals that must equal the manifest's.
///
/// ```ignore
/// toolhost::plugin! {
///     name: c"rustkit",
///     version: c"1.0.0",
///     tools: [Tool::new(c"reverse", c"Reverse a text.", reverse).thread_safe()],
/// }
/// ```
#[macro_export]
macro_rules! plugin {
    (name: $name:expr, version: $version:expr, tools: [$($tool:expr),* $(,)?] $(,)?) => {
        const _: () = {
            static TOOLS: &[$crate::Tool] = &[$($tool),*];

            unsafe extern "C" fn init(
                host: *const $crate::abi::HostApi,
                registrar: *const $crate::abi::Registrar,
                _state: *mut *mut ::std::ffi::c_void,
            ) -> i32 {
                unsafe { $crate::__register(host, registrar, TOOLS) }
            }

            static PLUGIN: $crate::Plugin = $crate::Plugin::new($name, $version, init);

            #[no_mangle]
            pub extern "C" fn toolhost_plugin_entry(
                _host_abi_major: u32,
                _host_abi_minor: u32,
            ) -> *const $crate::abi::PluginDesc {
                PLUGIN.descriptor()
            }
        };
    };
}
