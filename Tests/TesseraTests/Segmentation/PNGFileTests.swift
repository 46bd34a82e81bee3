import Foundation
import Testing
import Tessera
import TesseraSegmentation

@Suite("PNG files")
struct PNGFileTests {
    static func read(_ name: String) throws -> Raster {
        try PNGFile.read(Fixtures.url("png/\(name)"))
    }

    /// The gray ramp the fixture script writes: `(50x + 10y) mod 256`.
    static let ramp: [UInt16] = (0..<4).flatMap { y in (0..<5).map { x in UInt16((x * 50 + y * 10) % 256) } }

    @Test("8-bit gray reads its exact samples")
    func gray8() throws {
        let file = try Self.read("gray8.png")
        #expect(file.width == 5 && file.height == 4 && file.channels == 1 && file.bitDepth == 8)
        #expect(file.samples == Self.ramp)
    }

    @Test("16-bit gray keeps all 16 bits")
    func gray16() throws {
        let file = try Self.read("gray16.png")
        #expect(file.bitDepth == 16 && file.maximumValue == 65535)
        #expect(file.samples == Self.ramp.map { $0 * 257 + 1 })
    }

    @Test("gray+alpha and RGBA drop the alpha channel without blending")
    func alphaDropped() throws {
        #expect(try Self.read("gray_alpha8.png").samples == Self.ramp)
        let rgba = try Self.read("rgba8.png")
        #expect(rgba.channels == 3)
        #expect(rgba.samples == Self.ramp.flatMap { [$0, 255 - $0, 7] })
    }

    @Test("RGB reads interleaved samples, 8 and 16 bits")
    func rgb() throws {
        #expect(try Self.read("rgb8.png").samples == Self.ramp.flatMap { [$0, 255 - $0, 7] })
        #expect(try Self.read("rgb16.png").samples == Self.ramp.flatMap { [$0 * 257, 65535 - $0 * 257, 1000] })
    }

    @Test("palette images keep their palette indices and expand to the palette colours")
    func palette() throws {
        let file = try Self.read("palette.png")
        let expected = (0..<4).flatMap { y in (0..<5).map { x in UInt8((x + y) % 3) } }
        #expect(file.indices == expected)
        let colours: [[UInt16]] = [[200, 0, 0], [0, 200, 0], [0, 0, 200]]
        #expect(file.samples == expected.flatMap { colours[Int($0)] })
    }

    @Test("low bit depths are scaled to 8 bits")
    func lowBitDepth() throws {
        let file = try Self.read("bit_depth_4.png")
        #expect(Array(file.samples.prefix(5)) == [0x11, 0x22, 0x33, 0x44, 0x55])
    }

    @Test("broken files are errors that name the file", arguments: ["truncated.png", "not_a_png.png", "empty.png", "huge_dimensions.png"])
    func brokenFiles(name: String) {
        #expect {
            try Self.read(name)
        } throws: { error in
            guard let error = error as? ImageFileError else { return false }
            return error.path.hasSuffix(name) && !error.reason.isEmpty
        }
    }

    /// `(x + y) mod 3`, the labels of the mask fixtures.
    static let labels: [Int] = (0..<4).flatMap { y in (0..<5).map { x in (x + y) % 3 } }

    @Test("mask labels are read as stored: a gAMA chunk changes nothing, 16-bit labels stay 16-bit")
    func labelsAsStored() throws {
        #expect(try Self.read("labels_gamma.png").samples.map(Int.init) == Self.labels)
        let sixteen = try Self.read("labels16.png")
        #expect(sixteen.bitDepth == 16 && sixteen.samples.map(Int.init) == Self.labels.map { [0, 1000, 65535][$0] })
    }

    @Test("16-bit gray+alpha drops the alpha without premultiplying")
    func sixteenBitAlpha() throws {
        #expect(try Self.read("gray_alpha16.png").samples == Self.ramp.map { $0 * 257 })
    }

    @Test("a small file declaring a huge image, or a chunk of 2 GiB, is refused before allocating")
    func declaredSizesBounded() {
        for (name, text) in [("declared_huge.png", "far more than its"), ("chunk_2gib.png", "chunk tEXt claims 2147483632 bytes, past the end")] {
            #expect {
                try Self.read(name)
            } throws: { error in
                guard let error = error as? ImageFileError else { return false }
                return error.reason.contains(text) && !error.reason.isEmpty
            }
        }
    }

    @Test("16-bit gray PNGs are written as stored and read back exactly")
    func sixteenBitRoundTrip() throws {
        let url = try Fixtures.temporaryFolder().appendingPathComponent("m.png")
        let values: [UInt16] = [0, 1000, 65535, 7, 300, 2]
        try PNGFile.write(gray16: values, width: 3, height: 2, to: url)
        let back = try PNGFile.read(url)
        #expect(back.bitDepth == 16 && back.samples == values)
    }

    @Test("absurd dimensions are refused before any allocation")
    func hugeDimensions() {
        #expect {
            try Self.read("huge_dimensions.png")
        } throws: { error in
            (error as? ImageFileError)?.reason.contains("100000×100000") == true
        }
    }

    @Test("written gray and RGB PNGs read back exactly")
    func writeRoundTrip() throws {
        let folder = try Fixtures.temporaryFolder()
        let gray: [UInt8] = (0..<12).map { UInt8($0 * 20) }
        try PNGFile.write(gray, width: 4, height: 3, channels: 1, to: folder.appendingPathComponent("g.png"))
        #expect(try PNGFile.read(folder.appendingPathComponent("g.png")).samples == gray.map(UInt16.init))
        let rgb: [UInt8] = (0..<36).map { UInt8($0 * 7) }
        try PNGFile.write(rgb, width: 4, height: 3, channels: 3, to: folder.appendingPathComponent("c.png"))
        #expect(try PNGFile.read(folder.appendingPathComponent("c.png")).samples == rgb.map(UInt16.init))
    }
}
