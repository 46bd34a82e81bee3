import Foundation

/// An integer tensor, as PyTorch stores counters such as batch norm's
/// `num_batches_tracked` (dtype I64).
public struct Int64Tensor: Equatable, Sendable {
    /// The size of each dimension (`[]` for a scalar).
    public var shape: [Int]
    /// The elements in row-major order.
    public var values: [Int64]

    public init(shape: [Int], values: [Int64]) {
        require(
            values.count == Tensor.elementCount(of: shape),
            "Int64Tensor: shape \(shape) needs \(Tensor.elementCount(of: shape)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }
}

/// The contents of a safetensors file: named F32 and I64 tensors plus string metadata.
///
/// The format is an 8-byte little-endian header length, a JSON header mapping each name
/// to `{"dtype", "shape", "data_offsets"}` (plus an optional `"__metadata__"` object of
/// strings), then the raw little-endian tensor bytes. Reading validates every field
/// before any byte is trusted; writing is atomic.
public struct SafeTensors: Sendable {
    /// F32 tensors by name.
    public var tensors: [String: Tensor]
    /// I64 tensors by name.
    public var integerTensors: [String: Int64Tensor]
    /// The `__metadata__` strings.
    public var metadata: [String: String]

    /// The largest header accepted, as in the reference implementation (100 MB).
    static let maximumHeaderLength: UInt64 = 100_000_000

    public init(
        tensors: [String: Tensor] = [:], integerTensors: [String: Int64Tensor] = [:],
        metadata: [String: String] = [:]
    ) {
        self.tensors = tensors
        self.integerTensors = integerTensors
        self.metadata = metadata
    }

    /// The F32 tensor `name`, or an error naming the file and the tensor.
    public func tensor(_ name: String, path: String = "safetensors") throws -> Tensor {
        guard let tensor = tensors[name] else {
            throw SafeTensorsError(path: path, kind: .missingTensor(tensor: name, dtype: "F32"))
        }
        return tensor
    }

    // MARK: Reading

    /// Reads and validates the file at `url`.
    public static func read(from url: URL) throws -> SafeTensors {
        let data: Data
        do {
            data = try FileContents.read(url)
        } catch {
            throw SafeTensorsError(path: url.path, kind: .unreadable(reason: error.reason))
        }
        return try decode(data, path: url.path)
    }

    /// The F32 tensors holding NaN or ±infinity, in name order, with how many such values
    /// each holds.
    public var nonFiniteTensors: [(name: String, count: Int)] {
        tensors.keys.sorted().compactMap { name in
            let count = tensors[name]!.withUnsafeBufferPointer { $0.reduce(0) { $1.isFinite ? $0 : $0 + 1 } }
            return count > 0 ? (name, count) : nil
        }
    }

    /// Validates and decodes the bytes of a safetensors file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> SafeTensors {
        func failure(_ kind: SafeTensorsError.Kind) -> SafeTensorsError {
            SafeTensorsError(path: path, kind: kind)
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw failure(.truncatedHeader(fileSize: bytes.count)) }
        let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= maximumHeaderLength, headerLength <= UInt64(bytes.count - 8) else {
            throw failure(.headerLengthPastEnd(headerLength: headerLength, fileSize: bytes.count))
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart
        let entries = try parseHeader(Data(bytes[8..<dataStart]), failure: failure)

        var spans: [(name: String, begin: Int, end: Int)] = []
        for (name, entry) in entries.tensors {
            let elementSize = entry.dtype == "F32" ? 4 : 8
            let expected = Tensor.elementCount(of: entry.shape) * elementSize
            guard entry.end - entry.begin == expected else {
                throw failure(.sizeMismatch(
                    tensor: name, shape: entry.shape, dtype: entry.dtype,
                    expectedBytes: expected, actualBytes: entry.end - entry.begin))
            }
            guard entry.end <= dataSize else {
                throw failure(.spanPastEnd(tensor: name, end: entry.end, dataSize: dataSize))
            }
            spans.append((name, entry.begin, entry.end))
        }
        spans.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        for (previous, next) in zip(spans, spans.dropFirst()) where next.begin < previous.end {
            throw failure(.overlappingSpans(first: previous.name, second: next.name))
        }

        var result = SafeTensors(metadata: entries.metadata)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            for (name, entry) in entries.tensors {
                let count = Tensor.elementCount(of: entry.shape)
                if entry.dtype == "F32" {
                    let tensor = Tensor(uninitializedShape: entry.shape)
                    UnsafeMutableRawPointer(tensor.storage.pointer)
                        .copyMemory(from: base + entry.begin, byteCount: count * 4)
                    for index in 0..<count {
                        tensor.storage.pointer[index] = Float(bitPattern: UInt32(littleEndian: tensor.storage.pointer[index].bitPattern))
                    }
                    result.tensors[name] = tensor
                } else {
                    var values = [Int64](repeating: 0, count: count)
                    values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: base + entry.begin, count: count * 8)) }
                    result.integerTensors[name] = Int64Tensor(shape: entry.shape, values: values.map { Int64(littleEndian: $0) })
                }
            }
        }
        return result
    }

    private struct HeaderEntry {
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    private static func parseHeader(
        _ header: Data, failure: (SafeTensorsError.Kind) -> SafeTensorsError
    ) throws -> (tensors: [String: HeaderEntry], metadata: [String: String]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: header)
        } catch {
            throw failure(.invalidHeader(reason: "not valid JSON"))
        }
        guard let dictionary = object as? [String: Any] else {
            throw failure(.invalidHeader(reason: "not a JSON object"))
        }
        var tensors: [String: HeaderEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in dictionary {
            if name == "__metadata__" {
                guard let strings = value as? [String: String] else {
                    throw failure(.invalidHeader(reason: "__metadata__ must map strings to strings"))
                }
                metadata = strings
                continue
            }
            guard let fields = value as? [String: Any],
                  let dtype = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int],
                  let offsets = fields["data_offsets"] as? [Int]
            else {
                throw failure(.invalidHeader(reason: "tensor '\(name)' needs dtype, shape and data_offsets"))
            }
            guard dtype == "F32" || dtype == "I64" else {
                throw failure(.unsupportedDType(tensor: name, dtype: dtype))
            }
            guard shape.allSatisfy({ $0 >= 0 }), shape.count <= 8, let count = elementCount(of: shape), count <= Int.max / 8 else {
                throw failure(.invalidHeader(reason: "tensor '\(name)' has an invalid shape \(shape)"))
            }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw failure(.invalidHeader(reason: "tensor '\(name)' has invalid data_offsets \(offsets)"))
            }
            tensors[name] = HeaderEntry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        if let duplicate = duplicateKey(in: header) {
            throw failure(.invalidHeader(reason: "the name \(duplicate) appears more than once"))
        }
        return (tensors, metadata)
    }

    /// The element count of `shape`, nil when any partial product overflows (so that
    /// `[2^40, 2^40, 0]` is refused although it multiplies out to 0).
    private static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: max(dimension, 1))
            guard !overflow else { return nil }
            count = product
        }
        return shape.contains(0) ? 0 : count
    }

    /// The first key of the top-level JSON object that occurs twice, as written (JSON
    /// parsers keep one of them silently).
    private static func duplicateKey(in header: Data) -> String? {
        let bytes = [UInt8](header)
        var depth = 0, index = 0, seen = Set<[UInt8]>()
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let start = index
                index += 1
                while index < bytes.count && bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                var next = index + 1
                while next < bytes.count && [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
                if depth == 1 && next < bytes.count && bytes[next] == UInt8(ascii: ":") {
                    let key = Array(bytes[start...min(index, bytes.count - 1)])
                    if !seen.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                }
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
            }
            index += 1
        }
        return nil
    }

    // MARK: Writing

    /// The file's bytes: tensors in name order, header padded with spaces to 8 bytes.
    public func encoded() -> Data {
        let names = (Array(tensors.keys) + Array(integerTensors.keys)).sorted()
        require(Set(names).count == names.count, "SafeTensors: a name is both an F32 and an I64 tensor")
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let (dtype, shape, byteCount) = tensors[name].map { ("F32", $0.shape, $0.count * 4) }
                ?? integerTensors[name].map { ("I64", $0.shape, $0.values.count * 8) }!
            let shapeText = shape.map(String.init).joined(separator: ",")
            fields.append(
                "\(jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(offset),\(offset + byteCount)]}")
            offset += byteCount
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for name in names {
            if let tensor = tensors[name] {
                tensor.withUnsafeBufferPointer { buffer in
                    for value in buffer {
                        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
                    }
                }
            } else {
                for value in integerTensors[name]!.values {
                    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
                }
            }
        }
        return data
    }

    /// Writes the file atomically (temporary file in the same folder, then rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(), to: url)
    }

    private func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }
}
