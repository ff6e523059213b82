//! The C ABI of `plugin-sdk/include/toolhost/toolhost.h` (version 1.2), declared once.
//!
//! Every struct is `#[repr(C)]` and field for field the header's; `tests/abi_layout.rs` compiles a C program
//! against the header and compares its `sizeof`/`offsetof` with these. Function pointers the host may leave out
//! are `Option`s, which have the C pointer's layout; a field newer than 1.0 exists only when the host's
//! `struct_size` covers it (`HostApi::report_progress` needs a 1.2 host): read it through the safe wrappers.
//! Ownership and thread rules are the header's; read them there.

use std::ffi::{c_char, c_void};

/// The ABI major version this crate implements.
pub const ABI_MAJOR: u32 = 1;
/// The ABI minor version this crate implements.
pub const ABI_MINOR: u32 = 2;
/// The name of the one symbol a plugin exports.
pub const ENTRY_SYMBOL: &str = "toolhost_plugin_entry";

/// `TOOLHOST_OK`.
pub const STATUS_OK: i32 = 0;
/// `TOOLHOST_ERR_INVALID_ARGUMENTS`.
pub const STATUS_INVALID_ARGUMENTS: i32 = 1;
/// `TOOLHOST_ERR_TRANSIENT`.
pub const STATUS_TRANSIENT: i32 = 2;
/// `TOOLHOST_ERR_FAILED`.
pub const STATUS_FAILED: i32 = 3;

/// `TOOLHOST_TOOL_THREAD_SAFE`.
pub const TOOL_THREAD_SAFE: u32 = 1 << 0;

/// `toolhost_handler_fn`.
pub type HandlerFn = unsafe extern "C" fn(call: *const Call, args_json: *const c_char, args_len: usize) -> i32;

/// `toolhost_call`.
#[repr(C)]
pub struct Call {
    pub struct_size: u32,
    pub reserved: u32,
    pub host: *const HostApi,
    pub plugin_state: *mut c_void,
    pub tool_state: *mut c_void,
    pub tool_name: *const c_char,
    pub host_data: *mut c_void,
}

/// `toolhost_host_api`.
#[repr(C)]
pub struct HostApi {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub reserved: u32,
    pub write_result: Option<unsafe extern "C" fn(call: *const Call, json: *const c_char, len: usize) -> i32>,
    pub write_error: Option<unsafe extern "C" fn(call: *const Call, message: *const c_char, len: usize) -> i32>,
    pub is_cancelled: Option<unsafe extern "C" fn(call: *const Call) -> i32>,
    pub deadline_ns: Option<unsafe extern "C" fn(call: *const Call) -> u64>,
    pub log: Option<
        unsafe extern "C" fn(host: *const HostApi, call: *const Call, level: i32, message: *const c_char, len: usize),
    >,
    /// ABI 1.2: present only when `struct_size` covers it.
    pub report_progress: Option<
        unsafe extern "C" fn(call: *const Call, done: f64, total: f64, message: *const c_char, len: usize) -> i32,
    >,
}

impl HostApi {
    /// Whether the host's table (of `struct_size` bytes) reaches past the field at `offset`.
    pub fn covers(&self, offset: usize) -> bool {
        self.struct_size as usize >= offset + std::mem::size_of::<usize>()
    }
}

/// `toolhost_tool_desc`.
#[repr(C)]
pub struct ToolDesc {
    pub struct_size: u32,
    pub flags: u32,
    pub name: *const c_char,
    pub description: *const c_char,
    pub handler: Option<HandlerFn>,
    pub tool_state: *mut c_void,
}

/// `toolhost_function_desc` (ABI 1.1).
#[repr(C)]
pub struct FunctionDesc {
    pub struct_size: u32,
    pub flags: u32,
    pub name: *const c_char,
    pub description: *const c_char,
    pub signature: *const c_char,
    pub function: Option<unsafe extern "C" fn()>,
    pub free_function: Option<unsafe extern "C" fn(pointer: *mut c_void)>,
}

/// `toolhost_registrar`.
#[repr(C)]
pub struct Registrar {
    pub struct_size: u32,
    pub reserved: u32,
    pub host_data: *mut c_void,
    pub register_tool: Option<unsafe extern "C" fn(registrar: *const Registrar, tool: *const ToolDesc) -> i32>,
    pub register_function:
        Option<unsafe extern "C" fn(registrar: *const Registrar, function: *const FunctionDesc) -> i32>,
}

/// `toolhost_plugin_desc`.
#[repr(C)]
pub struct PluginDesc {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub reserved: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub init: Option<
        unsafe extern "C" fn(host: *const HostApi, registrar: *const Registrar, plugin_state: *mut *mut c_void) -> i32,
    >,
    pub deinit: Option<unsafe extern "C" fn(plugin_state: *mut c_void)>,
}

/// `toolhost_plugin_entry_fn`.
pub type EntryFn = unsafe extern "C" fn(host_abi_major: u32, host_abi_minor: u32) -> *const PluginDesc;
