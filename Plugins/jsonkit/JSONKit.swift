// jsonkit: JSON tools, written in Swift against the C ABI to prove it works from Swift.
//
//   jsonkit.pointer      the value at a JSON pointer (RFC 6901) in a document
//   jsonkit.merge_patch  a JSON merge patch (RFC 7386) applied to a document
//
// The library links the Swift runtime dynamically (the default for `swift build`), so it shares the
// host's runtime; a statically linked second runtime in one process would crash.

import CToolHost
import Foundation

/// Writes `value` as the call's result.
private func reply(_ call: UnsafePointer<toolhost_call>, _ value: Any) -> Int32 {
    guard
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
    else {
        return fail(call, TOOLHOST_ERR_FAILED, "the result could not be encoded as JSON")
    }
    let status = data.withUnsafeBytes { bytes in
        call.pointee.host.pointee.write_result(
            call, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }
    return status == 0 ? Int32(TOOLHOST_OK.rawValue) : Int32(TOOLHOST_ERR_FAILED.rawValue)
}

private func fail(_ call: UnsafePointer<toolhost_call>, _ status: toolhost_status, _ message: String) -> Int32 {
    var text = message
    text.withUTF8 { bytes in
        _ = bytes.withMemoryRebound(to: CChar.self) { chars in
            call.pointee.host.pointee.write_error(call, chars.baseAddress, chars.count)
        }
    }
    return Int32(status.rawValue)
}

private func arguments(_ json: UnsafePointer<CChar>?, _ length: Int) -> [String: Any]? {
    guard let json else { return nil }
    let data = Data(bytes: json, count: length)
    return (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? [String: Any]
}

/// Resolves an RFC 6901 pointer.
private func resolve(_ pointer: String, in document: Any) -> Any? {
    if pointer.isEmpty { return document }
    guard pointer.hasPrefix("/") else { return nil }
    var current: Any = document
    for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
        let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        if let object = current as? [String: Any] {
            guard let next = object[token] else { return nil }
            current = next
        } else if let array = current as? [Any] {
            guard let index = Int(token), index >= 0, index < array.count, token == String(index) else { return nil }
            current = array[index]
        } else {
            return nil
        }
    }
    return current
}

/// Applies an RFC 7386 merge patch.
private func mergePatch(_ target: Any, _ patch: Any) -> Any {
    guard let patchObject = patch as? [String: Any] else { return patch }
    var result = (target as? [String: Any]) ?? [:]
    for (key, value) in patchObject {
        if value is NSNull {
            result[key] = nil
        } else {
            result[key] = mergePatch(result[key] ?? NSNull(), value)
        }
    }
    return result
}

private let pointerTool: toolhost_handler_fn = { call, json, length in
    guard let call else { return Int32(TOOLHOST_ERR_FAILED.rawValue) }
    guard let args = arguments(json, length), let document = args["document"], let pointer = args["pointer"] as? String
    else {
        return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "expected {\"document\": any, \"pointer\": string}")
    }
    if !pointer.isEmpty && !pointer.hasPrefix("/") {
        return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "a JSON pointer is empty or starts with '/'")
    }
    if let value = resolve(pointer, in: document) {
        return reply(call, ["found": true, "value": value])
    }
    return reply(call, ["found": false])
}

private let mergePatchTool: toolhost_handler_fn = { call, json, length in
    guard let call else { return Int32(TOOLHOST_ERR_FAILED.rawValue) }
    guard let args = arguments(json, length), let target = args["document"], let patch = args["patch"] else {
        return fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "expected {\"document\": any, \"patch\": any}")
    }
    return reply(call, ["document": mergePatch(target, patch)])
}

private let initialize:
    @convention(c) (
        UnsafePointer<toolhost_host_api>?, UnsafePointer<toolhost_registrar>?,
        UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> Int32 = { _, registrar, _ in
        guard let registrar else { return Int32(TOOLHOST_ERR_FAILED.rawValue) }
        let tools: [(String, String, toolhost_handler_fn)] = [
            ("pointer", "The value at a JSON pointer in a document.", pointerTool),
            ("merge_patch", "Apply a JSON merge patch (RFC 7386) to a document.", mergePatchTool),
        ]
        for (name, description, handler) in tools {
            let status = name.withCString { cName in
                description.withCString { cDescription in
                    var descriptor = toolhost_tool_desc(
                        struct_size: UInt32(MemoryLayout<toolhost_tool_desc>.size),
                        flags: UInt32(TOOLHOST_TOOL_THREAD_SAFE), name: cName, description: cDescription,
                        handler: handler, tool_state: nil)
                    return registrar.pointee.register_tool(registrar, &descriptor)
                }
            }
            if status != 0 { return Int32(TOOLHOST_ERR_FAILED.rawValue) }
        }
        return Int32(TOOLHOST_OK.rawValue)
    }

/// The static descriptor; its strings live as long as the library.
nonisolated(unsafe) private let descriptor: UnsafeMutablePointer<toolhost_plugin_desc> = {
    let pointer = UnsafeMutablePointer<toolhost_plugin_desc>.allocate(capacity: 1)
    pointer.initialize(
        to: toolhost_plugin_desc(
            struct_size: UInt32(MemoryLayout<toolhost_plugin_desc>.size), abi_major: UInt32(TOOLHOST_ABI_MAJOR),
            abi_minor: UInt32(TOOLHOST_ABI_MINOR), reserved: 0, name: UnsafePointer(strdup("jsonkit")),
            version: UnsafePointer(strdup("1.0.0")), init: initialize, deinit: nil))
    return pointer
}()

@_cdecl("toolhost_plugin_entry")
public func toolhostPluginEntry(_ hostMajor: UInt32, _ hostMinor: UInt32) -> UnsafePointer<toolhost_plugin_desc>? {
    UnsafePointer(descriptor)
}
