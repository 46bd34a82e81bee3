/// Why a safetensors file was rejected, naming the file and, where it applies, the tensor.
public struct SafeTensorsError: Error, Equatable, CustomStringConvertible {
    /// What is wrong with the file.
    public enum Kind: Equatable, Sendable {
        /// The file is shorter than the 8-byte header length.
        case truncatedHeader(fileSize: Int)
        /// The header length points past the end of the file (or beyond any sane size).
        case headerLengthPastEnd(headerLength: UInt64, fileSize: Int)
        /// The header is not a JSON object of the expected form.
        case invalidHeader(reason: String)
        /// A tensor's dtype is not one Tessera reads.
        case unsupportedDType(tensor: String, dtype: String)
        /// A tensor's shape × element size differs from its byte span.
        case sizeMismatch(tensor: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
        /// A tensor's byte span reaches past the end of the data section.
        case spanPastEnd(tensor: String, end: Int, dataSize: Int)
        /// Two tensors' byte spans overlap.
        case overlappingSpans(first: String, second: String)
        /// The file could not be read at all.
        case unreadable(reason: String)
        /// A tensor was asked for with a dtype it does not have, or is missing.
        case missingTensor(tensor: String, dtype: String)
    }

    /// The file that was being read.
    public let path: String
    /// What is wrong with it.
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    public var description: String {
        let reason: String
        switch kind {
        case let .truncatedHeader(size):
            reason = "file is \(size) bytes, too short for the 8-byte header length (truncated?)"
        case let .headerLengthPastEnd(length, size):
            reason = "header length \(length) reaches past the end of the \(size)-byte file (truncated?)"
        case let .invalidHeader(why):
            reason = "invalid header: \(why)"
        case let .unsupportedDType(tensor, dtype):
            reason = "tensor '\(tensor)' has dtype \(dtype); expected F32 or I64"
        case let .sizeMismatch(tensor, shape, dtype, expected, actual):
            reason = "tensor '\(tensor)' of shape \(shape) and dtype \(dtype) needs \(expected) bytes but spans \(actual)"
        case let .spanPastEnd(tensor, end, dataSize):
            reason = "tensor '\(tensor)' ends at byte \(end), past the \(dataSize)-byte data section (truncated?)"
        case let .overlappingSpans(first, second):
            reason = "tensors '\(first)' and '\(second)' overlap"
        case let .unreadable(why):
            reason = "cannot read: \(why)"
        case let .missingTensor(tensor, dtype):
            reason = "no \(dtype) tensor named '\(tensor)'"
        }
        return "\(path): \(reason)"
    }
}
