import Foundation
import Glibc

/// How many cores this process may compute on: the cores its affinity mask allows
/// (`taskset`, `numactl`, a container's cpuset), limited by a cgroup CPU quota (a
/// container given 2 CPUs' worth of time on a 64-core host).
public struct CoreBudget: Sendable, Equatable {
    /// The cores the affinity mask allows, in order.
    public let allowedCores: [Int]
    /// The cgroup CPU quota in CPUs' worth of time (quota ÷ period) over this process's
    /// cgroup and its ancestors, the smallest; nil when there is none.
    public let quota: Double?

    public init(allowedCores: [Int], quota: Double?) {
        self.allowedCores = allowedCores
        self.quota = quota
    }

    /// The budget of this process, read once.
    public static let current = CoreBudget(allowedCores: allowedCoresOfCallingThread(), quota: cgroupQuota())

    /// The threads to compute on: one per allowed core, no more than the quota rounded up.
    public var threads: Int {
        let cores = max(1, allowedCores.count)
        guard let quota, quota > 0 else { return cores }
        return max(1, min(cores, Int((quota - 1e-6).rounded(.up))))
    }

    /// For people: "2 cores allowed, no CPU quota".
    public var summary: String {
        let limit = quota.map { String(format: "CPU quota %.2f", $0) } ?? "no CPU quota"
        return "\(allowedCores.count) core\(allowedCores.count == 1 ? "" : "s") allowed, \(limit)"
    }

    /// The cores the calling thread may run on.
    public static func allowedCoresOfCallingThread() -> [Int] {
        var mask = [UInt64](repeating: 0, count: 16)
        let result = mask.withUnsafeMutableBytes { getAffinity(0, $0.count, $0.baseAddress!) }
        guard result == 0 else { return [] }
        return (0..<(mask.count * 64)).filter { mask[$0 / 64] & (1 << UInt64($0 % 64)) != 0 }
    }

    /// The smallest CPU quota on the path of this process's cgroup, for cgroup v2
    /// (`cpu.max`) and v1 (`cpu.cfs_quota_us` ÷ `cpu.cfs_period_us`).
    ///
    /// - Parameters:
    ///   - membership: the text of `/proc/self/cgroup`.
    ///   - root: where the cgroup file systems are mounted.
    package static func cgroupQuota(
        membership: String? = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
        root: URL = URL(fileURLWithPath: "/sys/fs/cgroup")
    ) -> Double? {
        var quotas: [Double] = []
        for line in (membership ?? "").split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let controllers = fields[1].split(separator: ","), path = String(fields[2])
            if fields[0] == "0" && controllers.isEmpty {
                quotas += ancestors(of: path, under: root).compactMap { quotaV2(in: $0) }
            } else if controllers.contains("cpu") {
                let mount = root.appendingPathComponent(String(fields[1]))
                let base = FileManager.default.fileExists(atPath: mount.path) ? mount : root.appendingPathComponent("cpu")
                quotas += ancestors(of: path, under: base).compactMap { quotaV1(in: $0) }
            }
        }
        return quotas.min()
    }

    /// The folders of `path` and each of its parents under `root`, deepest first. In a
    /// container the path may name the host's hierarchy while `root` is the container's own
    /// cgroup: then `root` itself is where its limit is.
    private static func ancestors(of path: String, under root: URL) -> [URL] {
        var components = path.split(separator: "/").map(String.init), folders: [URL] = []
        while true {
            let folder = components.reduce(root) { $0.appendingPathComponent($1) }
            if FileManager.default.fileExists(atPath: folder.path) { folders.append(folder) }
            guard !components.isEmpty else { break }
            components.removeLast()
        }
        return folders
    }

    /// cgroup v2: `cpu.max` holds "QUOTA PERIOD" or "max PERIOD".
    private static func quotaV2(in folder: URL) -> Double? {
        let fields = read(folder.appendingPathComponent("cpu.max"))?.split(separator: " ") ?? []
        guard fields.count == 2, let quota = Double(fields[0]), let period = Double(fields[1]), quota > 0, period > 0 else { return nil }
        return quota / period
    }

    /// cgroup v1: `cpu.cfs_quota_us` (-1 for none) over `cpu.cfs_period_us`.
    private static func quotaV1(in folder: URL) -> Double? {
        guard let quota = read(folder.appendingPathComponent("cpu.cfs_quota_us")).flatMap(Double.init),
              let period = read(folder.appendingPathComponent("cpu.cfs_period_us")).flatMap(Double.init),
              quota > 0, period > 0
        else { return nil }
        return quota / period
    }

    private static func read(_ file: URL) -> String? {
        (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@_silgen_name("sched_getaffinity")
private func getAffinity(_ thread: Int32, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32
