import Foundation
import Testing
import Tessera

@Suite("safetensors")
struct SafeTensorsTests {
    /// The content of the committed `swift_written.safetensors` fixture, which
    /// `scripts/check_safetensors_interop.py` loads with Python's safetensors.
    static let interopContent = SafeTensors(
        tensors: [
            "conv.weight": (Tensor.arange(24) * 0.5 - 3).reshaped([2, 3, 2, 2]),
            "empty": Tensor.zeros([0, 4]),
        ],
        integerTensors: ["bn.num_batches_tracked": Int64Tensor(shape: [], values: [7])],
        metadata: ["config": "{\"width\": 16}", "epoch": "3"])

    @Test("write then read returns the same tensors, integers and metadata")
    func roundTrip() throws {
        let folder = try Fixtures.temporaryFolder()
        let url = folder.appendingPathComponent("model.safetensors")
        var generator = RandomGenerator(seed: 1)
        let original = SafeTensors(
            tensors: ["a": Tensor.normal([3, 4, 5], using: &generator), "scalar": Tensor(shape: [], scalars: [2])],
            integerTensors: ["steps": Int64Tensor(shape: [2], values: [-1, 1 << 40])],
            metadata: ["note": "quotes \" and \\ and ünïcode"])
        try original.write(to: url)
        let loaded = try SafeTensors.read(from: url)
        #expect(loaded.tensors == original.tensors)
        #expect(loaded.integerTensors == original.integerTensors)
        #expect(loaded.metadata == original.metadata)
        // Nothing but the file itself is left in the folder (the temporary was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    }

    @Test("a file written by Python's safetensors (as PyTorch saves) reads exactly")
    func pythonWritten() throws {
        let file = try Fixtures.load("python_written.safetensors")
        #expect(try file.tensor("conv.weight") == (Tensor.arange(24) * 0.25 - 3).reshaped([2, 3, 2, 2]))
        #expect(try file.tensor("conv.bias").scalars == [1.5, -2.25])
        #expect(file.integerTensors["bn.num_batches_tracked"] == Int64Tensor(shape: [], values: [7]))
        #expect(file.metadata == ["format": "pt", "epoch": "3"])
    }

    @Test("the writer's bytes equal the fixture that Python's safetensors loaded")
    func writerMatchesInteropFixture() throws {
        let encoded = Self.interopContent.encoded()
        let fixture = Fixtures.url("swift_written.safetensors")
        if ProcessInfo.processInfo.environment["TESSERA_RECORD_FIXTURES"] != nil {
            try encoded.write(to: Fixtures.sourceURL("swift_written.safetensors"))
        }
        #expect(encoded == (try Data(contentsOf: fixture)))
    }

    @Test("rewriting an existing file replaces it whole")
    func overwrite() throws {
        let url = try Fixtures.temporaryFolder().appendingPathComponent("m.safetensors")
        try SafeTensors(tensors: ["a": Tensor.ones([1000])]).write(to: url)
        try SafeTensors(tensors: ["b": Tensor.ones([2])]).write(to: url)
        #expect(Array(try SafeTensors.read(from: url).tensors.keys) == ["b"])
    }

    /// The bytes of a file with the given header text and `dataBytes` zero bytes of data.
    static func file(header: String, dataBytes: Int) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(contentsOf: [UInt8](repeating: 0, count: dataBytes))
        return data
    }

    static let malformed: [(String, Data, SafeTensorsError.Kind)] = [
        ("truncated header", Data([1, 2, 3, 4]), .truncatedHeader(fileSize: 4)),
        ("header length past EOF", file(header: "{}", dataBytes: 0).prefix(8) + Data([0x7b]),
         .headerLengthPastEnd(headerLength: 2, fileSize: 9)),
        ("absurd header length", Data([0, 0, 0, 0, 0, 0, 0, 1]) + Data(repeating: 0, count: 8),
         .headerLengthPastEnd(headerLength: 1 << 56, fileSize: 16)),
        ("bad JSON", file(header: "{\"a\": [", dataBytes: 0), .invalidHeader(reason: "not valid JSON")),
        ("JSON that is not an object", file(header: "[1, 2]", dataBytes: 0), .invalidHeader(reason: "not a JSON object")),
        ("unknown dtype", file(header: #"{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8),
         .unsupportedDType(tensor: "w", dtype: "Q7")),
        ("shape does not match the span",
         file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8),
         .sizeMismatch(tensor: "w", shape: [3], dtype: "F32", expectedBytes: 12, actualBytes: 8)),
        ("span past EOF", file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8),
         .spanPastEnd(tensor: "w", end: 16, dataSize: 8)),
        ("overlapping spans",
         file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
              dataBytes: 12),
         .overlappingSpans(first: "a", second: "b")),
        ("missing fields", file(header: #"{"w":{"dtype":"F32"}}"#, dataBytes: 0),
         .invalidHeader(reason: "tensor 'w' needs dtype, shape and data_offsets")),
        ("reversed offsets", file(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, dataBytes: 8),
         .invalidHeader(reason: "tensor 'w' has invalid data_offsets [8, 0]")),
        ("negative dimension", file(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, dataBytes: 0),
         .invalidHeader(reason: "tensor 'w' has an invalid shape [-1]")),
        ("metadata not strings", file(header: #"{"__metadata__":{"epoch":3}}"#, dataBytes: 0),
         .invalidHeader(reason: "__metadata__ must map strings to strings")),
        ("a shape whose product overflows before a zero",
         file(header: #"{"w":{"dtype":"F32","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}}"#, dataBytes: 0),
         .invalidHeader(reason: "tensor 'w' has an invalid shape [1099511627776, 1099511627776, 0]")),
        ("a shape of more bytes than memory",
         file(header: #"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#, dataBytes: 8),
         .invalidHeader(reason: "tensor 'w' has an invalid shape [4611686018427387904]")),
        ("a tensor name given twice",
         file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "w" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
              dataBytes: 8),
         .invalidHeader(reason: "the name \"w\" appears more than once")),
    ]

    @Test("each malformed file is rejected with its own error naming file and tensor",
          arguments: malformed.indices)
    func malformedFiles(index: Int) {
        let (name, data, kind) = Self.malformed[index]
        #expect(throws: SafeTensorsError(path: "bad.safetensors", kind: kind), "\(name)") {
            try SafeTensors.decode(data, path: "bad.safetensors")
        }
    }

    @Test("a valid file cut short is rejected as truncated, never read past its end")
    func truncatedValidFile() {
        let data = SafeTensors(tensors: ["w": Tensor.ones([16])]).encoded()
        for length in [0, 7, 8, 20, data.count - 1] {
            #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(data.prefix(length), path: "cut") }
        }
    }

    @Test("the error message names the file and the tensor")
    func messageNamesFileAndTensor() {
        let error = SafeTensorsError(path: "run/last.safetensors", kind: .spanPastEnd(tensor: "outc.conv.weight", end: 64, dataSize: 32))
        #expect(error.description.contains("run/last.safetensors"))
        #expect(error.description.contains("outc.conv.weight"))
    }

    @Test("reading a missing file is a clear error")
    func missingFile() {
        #expect(throws: SafeTensorsError.self) {
            try SafeTensors.read(from: URL(fileURLWithPath: "/nonexistent/model.safetensors"))
        }
    }
}
