import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** tools/python-reader: the Python reader (its package, requirements and Python tests). */
export const pythonReaderDir = resolve(import.meta.dirname, "..", "..");
const repositoryRoot = resolve(pythonReaderDir, "..", "..");

/** The interpreter the venv is made from: `LEDGER_PYTHON`, else `python3` on the PATH. */
function basePython(): string {
  const configured = process.env.LEDGER_PYTHON;
  return configured !== undefined && configured !== "" ? configured : "python3";
}

/**
 * The Python of the reader's venv under `.cache/python-reader/`, created when missing (the pinned
 * `requirements.txt` installed from PyPI, wheels only). The venv's name carries a hash of the
 * requirements and the base interpreter's version, so a changed pin makes a new one. It is built
 * under a temporary name and renamed when complete: a half-built venv is never used, and two test
 * runs building at once both end with a complete one.
 */
export function ensurePythonReaderEnv(): string {
  const requirements = readFileSync(join(pythonReaderDir, "requirements.txt"), "utf8");
  const version = execFileSync(basePython(), ["-c", "import sys; print(sys.version)"], { encoding: "utf8" });
  const hash = createHash("sha256").update(requirements).update(version).digest("hex").slice(0, 12);
  const cache = join(repositoryRoot, ".cache", "python-reader");
  const venv = join(cache, `venv-${hash}`);
  const python = join(venv, "bin", "python");
  if (existsSync(join(venv, ".complete"))) return python;
  mkdirSync(cache, { recursive: true });
  const building = `${venv}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    execFileSync(basePython(), ["-m", "venv", building], { stdio: "pipe" });
    execFileSync(
      join(building, "bin", "python"),
      ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--only-binary=:all:", "-r", "requirements.txt"],
      { cwd: pythonReaderDir, stdio: "pipe", timeout: 600_000 },
    );
    writeFileSync(join(building, ".complete"), requirements);
    if (!existsSync(join(venv, ".complete"))) {
      rmSync(venv, { recursive: true, force: true });
      renameSync(building, venv);
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return python;
}

/** What a Python run printed, and how it ended. */
export interface PythonRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `python args...` in tools/python-reader (the reader's package importable) and collects its output. */
export function runPython(python: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<PythonRun> {
  return new Promise((done, fail) => {
    execFile(
      python,
      [...args],
      {
        cwd: pythonReaderDir,
        env: { ...process.env, PYTHONPATH: pythonReaderDir, PYTHONDONTWRITEBYTECODE: "1", PYTHONIOENCODING: "utf-8" },
        encoding: "utf8",
        maxBuffer: 512 * 1024 * 1024,
        timeout: options.timeoutMs ?? 300_000,
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") {
          fail(new Error(`${python} did not run: ${error.message}`, { cause: error }));
          return;
        }
        done({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}
