import CFFI
import Foundation
import Glibc
import ToolHostJSON

/// A plain C function called through libffi: JSON arguments in, C values across, JSON `{"result": …}` out.
///
/// The call interface (`ffi_cif`) is prepared once, when the plugin loads; a call only converts values.
final class NativeFunction: @unchecked Sendable {
    /// How a returned string is released after the host copied it.
    enum ReturnOwnership: Sendable {
        /// The string stays valid (static storage); nothing to do.
        case borrowed
        /// The host calls this function on it (libc `free`, or one of the plugin's).
        case free(@convention(c) (UnsafeMutableRawPointer?) -> Void)
    }

    /// What went wrong preparing a function, for the loader's message.
    struct PrepareError: Error, CustomStringConvertible {
        let description: String
    }

    let name: String
    let signature: NativeSignature
    let function: UnsafeRawPointer
    let ownership: ReturnOwnership
    // Never freed: the function may be called until the process ends.
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    private let cArgumentCount: Int

    init(name: String, signature: NativeSignature, function: UnsafeRawPointer, ownership: ReturnOwnership)
        throws(PrepareError)
    {
        self.name = name
        self.signature = signature
        self.function = function
        self.ownership = ownership
        var types: [UnsafeMutablePointer<ffi_type>?] = []
        for parameter in signature.parameters {
            if parameter.type.isBuffer {
                types.append(toolhost_ffi_pointer())
                types.append(toolhost_ffi_size())
            } else {
                types.append(Self.ffiType(parameter.type))
            }
        }
        cArgumentCount = types.count
        argumentTypes = .allocate(capacity: max(1, types.count))
        argumentTypes.initialize(from: types, count: types.count)
        cif = .allocate(capacity: 1)
        let status = ffi_prep_cif(
            cif, FFI_DEFAULT_ABI, UInt32(types.count), Self.ffiType(signature.returns), argumentTypes)
        guard status == FFI_OK else {
            throw PrepareError(description: "libffi could not prepare '\(signature)' (ffi_prep_cif status \(status))")
        }
    }

    private static func ffiType(_ type: NativeSignature.ValueType) -> UnsafeMutablePointer<ffi_type> {
        switch type {
        case .bool: toolhost_ffi_bool()
        case .int8: toolhost_ffi_sint8()
        case .int16: toolhost_ffi_sint16()
        case .int32: toolhost_ffi_sint32()
        case .int64: toolhost_ffi_sint64()
        case .uint8: toolhost_ffi_uint8()
        case .uint16: toolhost_ffi_uint16()
        case .uint32: toolhost_ffi_uint32()
        case .uint64: toolhost_ffi_uint64()
        case .float: toolhost_ffi_float()
        case .double: toolhost_ffi_double()
        case .string, .buffer, .bufferBase64: toolhost_ffi_pointer()
        case .void: toolhost_ffi_void()
        }
    }

    /// Converts, calls and converts back. Runs on a plugin thread.
    /// - Parameter arguments: the arguments object as JSON (already checked against the generated schema).
    func invoke(arguments: [UInt8], maxOutputBytes: Int) -> InvocationOutcome {
        let object: JSONObject
        do {
            guard case .object(let parsed) = try JSONValue.parse(arguments) else {
                return .error(ToolError(.invalidArguments, "the arguments of '\(name)' must be a JSON object"))
            }
            object = parsed
        } catch {
            return .error(ToolError(.invalidArguments, "the arguments of '\(name)' are not JSON: \(error)"))
        }
        // One 16-byte slot per C argument; strings and buffers are copied to memory freed after the call.
        let slots = UnsafeMutableRawPointer.allocate(byteCount: max(1, cArgumentCount) * 16, alignment: 16)
        let values = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, cArgumentCount))
        var owned: [UnsafeMutableRawPointer] = []
        defer {
            for pointer in owned { pointer.deallocate() }
            values.deallocate()
            slots.deallocate()
        }
        var index = 0
        for parameter in signature.parameters {
            guard let value = object[parameter.name] else {
                return .error(
                    ToolError(
                        .invalidArguments, "'\(name)': parameter '\(parameter.name)' is missing",
                        violations: [.init(path: "", message: "missing parameter '\(parameter.name)'")]))
            }
            let slot = slots + index * 16
            values[index] = slot
            switch Self.store(value, as: parameter.type, into: slot) {
            case .stored:
                index += 1
            case .pointer(let bytes, let terminate):
                let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count + 1, alignment: 1)
                bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                copy.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
                owned.append(copy)
                slot.storeBytes(of: copy, as: UnsafeMutableRawPointer.self)
                index += 1
                if !terminate {
                    let lengthSlot = slots + index * 16
                    values[index] = lengthSlot
                    lengthSlot.storeBytes(of: bytes.count, as: Int.self)
                    index += 1
                }
            case .invalid(let why):
                let message = "'\(name)': parameter '\(parameter.name)' \(why)"
                return .error(
                    ToolError(
                        .invalidArguments, message, violations: [.init(path: "/" + parameter.name, message: why)]))
            }
        }
        var result = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &result) { returnSlot in
            ffi_call(
                cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), returnSlot.baseAddress, values)
        }
        let output = withUnsafeBytes(of: &result) { encodeResult($0) }
        switch output {
        case .success(let bytes):
            if bytes.count > maxOutputBytes {
                return .error(
                    ToolError(
                        .pluginError, "'\(name)' returned \(bytes.count) bytes, over the limit of \(maxOutputBytes)"))
            }
            return .success(bytes)
        case .failure(let error):
            return .error(error)
        }
    }

    private enum Stored {
        case stored
        case pointer([UInt8], nulTerminated: Bool)
        case invalid(String)
    }

    /// Writes one JSON value as the C value of `type` into `slot`. Never truncates: a value that does not
    /// fit is refused with the reason.
    private static func store(
        _ value: JSONValue, as type: NativeSignature.ValueType, into slot: UnsafeMutableRawPointer
    )
        -> Stored
    {
        switch type {
        case .bool:
            guard case .bool(let flag) = value else { return .invalid("must be true or false") }
            slot.storeBytes(of: flag ? 1 : 0, as: UInt8.self)
            return .stored
        case .float, .double:
            guard let number = value.doubleValue, number.isFinite else { return .invalid("must be a finite number") }
            if type == .float {
                guard abs(number) <= Double(Float.greatestFiniteMagnitude) else {
                    return .invalid("\(number) does not fit in a C float")
                }
                slot.storeBytes(of: Float(number), as: Float.self)
            } else {
                slot.storeBytes(of: number, as: Double.self)
            }
            return .stored
        case .string:
            guard case .string(let text) = value else { return .invalid("must be a string") }
            let bytes = Array(text.utf8)
            if bytes.contains(0) { return .invalid("contains a NUL character, which a C string cannot hold") }
            return .pointer(bytes, nulTerminated: true)
        case .buffer:
            guard case .string(let text) = value else { return .invalid("must be a string") }
            return .pointer(Array(text.utf8), nulTerminated: false)
        case .bufferBase64:
            guard case .string(let text) = value else { return .invalid("must be a base64 string") }
            guard let data = Data(base64Encoded: text) else { return .invalid("is not valid base64") }
            return .pointer(Array(data), nulTerminated: false)
        case .void:
            return .invalid("cannot be void")
        default:
            let range = type.integerRange!
            let exact: (negative: Bool, magnitude: UInt64)
            switch value {
            case .int(let integer):
                exact = (integer < 0, integer.magnitude)
            case .double(let number):
                guard number.isFinite, number == number.rounded(.towardZero) else {
                    return .invalid("must be an integer (got \(number))")
                }
                guard number.magnitude < 18_446_744_073_709_551_616.0 else {
                    return .invalid("\(number) does not fit in a C \(type)")
                }
                exact = (number < 0, UInt64(number.magnitude))
            default:
                return .invalid("must be an integer")
            }
            if exact.negative {
                guard range.min < 0, exact.magnitude <= UInt64(range.min.magnitude) else {
                    return .invalid("-\(exact.magnitude) does not fit in a C \(type)")
                }
            } else if exact.magnitude > range.max {
                return .invalid("\(exact.magnitude) does not fit in a C \(type)")
            }
            let bits: UInt64 = exact.negative ? (0 &- exact.magnitude) : exact.magnitude
            switch type {
            case .int8, .uint8: slot.storeBytes(of: UInt8(truncatingIfNeeded: bits), as: UInt8.self)
            case .int16, .uint16: slot.storeBytes(of: UInt16(truncatingIfNeeded: bits), as: UInt16.self)
            case .int32, .uint32: slot.storeBytes(of: UInt32(truncatingIfNeeded: bits), as: UInt32.self)
            default: slot.storeBytes(of: bits, as: UInt64.self)
            }
            return .stored
        }
    }

    /// `{"result": …}` from the raw return slot. libffi widens small integer returns to `ffi_arg`.
    private func encodeResult(_ raw: UnsafeRawBufferPointer) -> Result<[UInt8], ToolError> {
        let word = raw.load(as: UInt64.self)
        let text: String
        switch signature.returns {
        case .void: text = "null"
        case .bool: text = (word & 0xFF) != 0 ? "true" : "false"
        case .int8: text = String(Int8(truncatingIfNeeded: word))
        case .int16: text = String(Int16(truncatingIfNeeded: word))
        case .int32: text = String(Int32(truncatingIfNeeded: word))
        case .int64: text = String(Int64(bitPattern: word))
        case .uint8: text = String(UInt8(truncatingIfNeeded: word))
        case .uint16: text = String(UInt16(truncatingIfNeeded: word))
        case .uint32: text = String(UInt32(truncatingIfNeeded: word))
        case .uint64: text = String(word)
        case .float, .double:
            let number = signature.returns == .float ? Double(raw.load(as: Float.self)) : raw.load(as: Double.self)
            guard number.isFinite else {
                let kind = number.isNaN ? "nan" : (number < 0 ? "-inf" : "inf")
                return .success(Array("{\"result\":null,\"nonFinite\":\"\(kind)\"}".utf8))
            }
            text = String(decoding: JSONValue.double(number).serialized(), as: UTF8.self)
        case .string:
            guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(word)) else {
                text = "null"
                break
            }
            let copied = String(cString: pointer.assumingMemoryBound(to: CChar.self))
            if case .free(let release) = ownership { release(pointer) }
            text = String(decoding: JSONValue.string(copied).serialized(), as: UTF8.self)
        case .buffer, .bufferBase64:
            return .failure(ToolError(.internal, "'\(name)': a buffer cannot be returned"))
        }
        return .success(Array("{\"result\":\(text)}".utf8))
    }
}
