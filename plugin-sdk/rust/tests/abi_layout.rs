//! The Rust declarations in `src/abi.rs` against the C header itself: a C program compiled with the system
//! `cc` against `plugin-sdk/include` prints every struct's size and alignment and every field's offset, and each
//! must equal what Rust computes for the same field. A field added, dropped, reordered or retyped on either
//! side fails here.

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use toolhost::abi::*;

/// (C struct, Rust struct's size and alignment, [(field, Rust offset)]).
fn rust_layout() -> Vec<(&'static str, usize, usize, Vec<(&'static str, usize)>)> {
    macro_rules! layout {
        ($c:literal, $rust:ty, [$($field:ident),*]) => {
            ($c, size_of::<$rust>(), align_of::<$rust>(), vec![$((stringify!($field), offset_of!($rust, $field))),*])
        };
    }
    vec![
        layout!("toolhost_call", Call, [struct_size, reserved, host, plugin_state, tool_state, tool_name, host_data]),
        layout!(
            "toolhost_host_api",
            HostApi,
            [
                struct_size,
                abi_major,
                abi_minor,
                reserved,
                write_result,
                write_error,
                is_cancelled,
                deadline_ns,
                log,
                report_progress
            ]
        ),
        layout!("toolhost_tool_desc", ToolDesc, [struct_size, flags, name, description, handler, tool_state]),
        layout!(
            "toolhost_function_desc",
            FunctionDesc,
            [struct_size, flags, name, description, signature, function, free_function]
        ),
        layout!("toolhost_registrar", Registrar, [struct_size, reserved, host_data, register_tool, register_function]),
        layout!(
            "toolhost_plugin_desc",
            PluginDesc,
            [struct_size, abi_major, abi_minor, reserved, name, version, init, deinit]
        ),
    ]
}

/// What the C compiler says, as "struct.field offset" and "struct size align" lines, plus the constants.
fn c_layout(out_dir: &PathBuf) -> BTreeMap<String, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let include = root.join("../include");
    let mut program =
        String::from("#include <stdio.h>\n#include <stddef.h>\n#include <toolhost/toolhost.h>\nint main(void) {\n");
    for (name, _, _, fields) in rust_layout() {
        program += &format!("printf(\"{name} %zu %zu\\n\", sizeof({name}), _Alignof({name}));\n");
        for (field, _) in fields {
            program += &format!("printf(\"{name}.{field} %zu\\n\", offsetof({name}, {field}));\n");
        }
    }
    for constant in [
        "TOOLHOST_ABI_MAJOR",
        "TOOLHOST_ABI_MINOR",
        "TOOLHOST_OK",
        "TOOLHOST_ERR_INVALID_ARGUMENTS",
        "TOOLHOST_ERR_TRANSIENT",
        "TOOLHOST_ERR_FAILED",
        "TOOLHOST_TOOL_THREAD_SAFE",
    ] {
        program += &format!("printf(\"{constant} %lld\\n\", (long long){constant});\n");
    }
    program += "printf(\"TOOLHOST_ENTRY_SYMBOL %s\\n\", TOOLHOST_ENTRY_SYMBOL);\nreturn 0;\n}\n";
    std::fs::create_dir_all(out_dir).unwrap();
    let source = out_dir.join("layout.c");
    let binary = out_dir.join("layout");
    std::fs::write(&source, program).unwrap();
    let compiled = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .expect("the ABI layout test needs a C compiler (cc) on PATH");
    assert!(compiled.status.success(), "cc failed: {}", String::from_utf8_lossy(&compiled.stderr));
    let output = Command::new(&binary).output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (key, value) = line.split_once(' ').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn every_struct_matches_the_c_header() {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("abi_layout");
    let c = c_layout(&out_dir);
    let mut mismatches = Vec::new();
    for (name, size, align, fields) in rust_layout() {
        let rust = format!("{size} {align}");
        if c[name] != rust {
            mismatches.push(format!("{name}: C size/align {}, Rust {rust}", c[name]));
        }
        for (field, offset) in fields {
            let key = format!("{name}.{field}");
            if c[&key] != offset.to_string() {
                mismatches.push(format!("{key}: C offset {}, Rust {offset}", c[&key]));
            }
        }
    }
    let constants = [
        ("TOOLHOST_ABI_MAJOR", ABI_MAJOR as i64),
        ("TOOLHOST_ABI_MINOR", ABI_MINOR as i64),
        ("TOOLHOST_OK", STATUS_OK as i64),
        ("TOOLHOST_ERR_INVALID_ARGUMENTS", STATUS_INVALID_ARGUMENTS as i64),
        ("TOOLHOST_ERR_TRANSIENT", STATUS_TRANSIENT as i64),
        ("TOOLHOST_ERR_FAILED", STATUS_FAILED as i64),
        ("TOOLHOST_TOOL_THREAD_SAFE", TOOL_THREAD_SAFE as i64),
    ];
    for (name, value) in constants {
        if c[name] != value.to_string() {
            mismatches.push(format!("{name}: C {}, Rust {value}", c[name]));
        }
    }
    if c["TOOLHOST_ENTRY_SYMBOL"] != ENTRY_SYMBOL {
        mismatches.push(format!("TOOLHOST_ENTRY_SYMBOL: C {}, Rust {ENTRY_SYMBOL}", c["TOOLHOST_ENTRY_SYMBOL"]));
    }
    assert!(mismatches.is_empty(), "the Rust ABI differs from toolhost.h:\n{}", mismatches.join("\n"));
}
