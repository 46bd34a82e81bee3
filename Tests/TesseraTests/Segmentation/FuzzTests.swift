import Foundation
import Testing
import Tessera
import TesseraSegmentation

/// Seeded mutation fuzzing of the readers of untrusted files: every mutated input must
/// be decoded or rejected with an error, never crash or hang. `TESSERA_FUZZ_ITERATIONS`
/// raises the count; `scripts/fuzz.sh` runs the coverage-guided fuzzers (libFuzzer).
@Suite("fuzzing the readers")
struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["TESSERA_FUZZ_ITERATIONS"] ?? "") ?? 10_000

    /// A copy of `seed` with a few random bit flips, byte overwrites, truncations,
    /// insertions or deletions.
    static func mutate(_ seed: [UInt8], using generator: inout RandomGenerator) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            guard !bytes.isEmpty else { break }
            let position = Int(generator.next() % UInt64(bytes.count))
            switch generator.next() % 6 {
            case 0: bytes[position] ^= UInt8(1 << (generator.next() % 8))
            case 1: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            case 2: bytes.removeSubrange(position...)
            case 3: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
            case 4: bytes.remove(at: position)
            default: bytes[position] = [0, 0xFF, 0x7F, 0x80][Int(generator.next() % 4)]
            }
        }
        return bytes
    }

    /// How many of ``iterations`` mutations of `seeds` `decode` rejects with an
    /// ``ImageFileError``; any other error fails the test run.
    static func imageRejections(seeds: [[UInt8]], seed: UInt64, _ decode: (Data) throws -> Void) -> Int {
        var generator = RandomGenerator(seed: seed)
        var rejected = 0
        for iteration in 0..<iterations {
            let input = mutate(seeds[iteration % seeds.count], using: &generator)
            do { try decode(Data(input)) } catch is ImageFileError { rejected += 1 } catch { Issue.record("unexpected \(error)") }
        }
        return rejected
    }

    @Test("mutated safetensors files (10 000 by default) are each read or rejected")
    func safetensors() throws {
        let seeds = [
            [UInt8](try Data(contentsOf: Fixtures.url("python_written.safetensors"))),
            [UInt8](try Data(contentsOf: Fixtures.url("swift_written.safetensors"))),
        ]
        var generator = RandomGenerator(seed: 2024)
        var rejected = 0
        for iteration in 0..<Self.iterations {
            let input = Self.mutate(seeds[iteration % 2], using: &generator)
            do { _ = try SafeTensors.decode(Data(input), path: "fuzz") } catch is SafeTensorsError { rejected += 1 }
        }
        #expect(rejected > Self.iterations / 10)
        print("safetensors fuzzing: \(Self.iterations) inputs, \(rejected) rejected with an error, no crash")
    }

    @Test("mutated PNG files (10 000 by default) are each decoded or rejected")
    func png() throws {
        let seeds = try ["gray8.png", "rgb16.png", "palette.png", "gray_alpha8.png"].map {
            [UInt8](try Data(contentsOf: Fixtures.url("png/\($0)")))
        }
        let rejected = Self.imageRejections(seeds: seeds, seed: 7) { _ = try PNGFile.decode($0, path: "fuzz.png") }
        #expect(rejected > Self.iterations / 10)
        print("PNG fuzzing: \(Self.iterations) inputs, \(rejected) rejected with an error, no crash")
    }

    @Test("mutated TIFF, JPEG and GIF files (10 000 each by default) are each decoded or rejected",
          arguments: [
              ("TIFF", ["gray16_lzw.tif", "rgb8_deflate.tif", "gray16_tiled.tif", "palette.tif", "stack16.tif", "gray8_packbits.tif"]),
              ("JPEG", ["rgb.jpg", "gray.jpg"]), ("GIF", ["mask.gif", "interlaced.gif"]),
          ])
    func imageFormats(format: String, files: [String]) throws {
        let seeds = try files.map { [UInt8](try Data(contentsOf: Fixtures.url("images/\($0)"))) }
        let rejected = Self.imageRejections(seeds: seeds, seed: 11) { _ = try ImageFile.decodePages($0, path: "fuzz") }
        #expect(rejected > Self.iterations / 20)
        print("\(format) fuzzing: \(Self.iterations) inputs, \(rejected) rejected with an error, no crash")
    }
}
