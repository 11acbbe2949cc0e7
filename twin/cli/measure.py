"""The commands that measure: calibrate (GPU traces, rack PDU readings) and record (live NVML)."""

import sys

from twin import files
from twin.cli.common import bad_input


def cmd_calibrate(args):
    from twin.calibrate import session
    from twin.io.gpu_trace import TraceError
    from twin.io.rack_csv import RackDataError
    from twin.params.calibration import CalibrationError

    if not args.traces:
        return bad_input(["calibrate: give at least one TRACE file"])
    try:
        if args.check is not None:
            result = session.check(args.check, args.traces, args.timezone)
            if "note" in result:
                print(f"note: {result['note']}", file=sys.stderr)
            print(files.to_json(result) if args.json else session.check_text(result))
            return 0
        if args.gpu is None or args.out is None:
            return bad_input(["calibrate: --gpu MODEL and --out FILE are needed to fit (or --check CALIB)"])
        _check_calibration_outputs(args)
        if args.rack:
            return _calibrate_rack(args)
        doc, series = session.calibrate(args.traces, args.gpu, args.cooling, args.timezone)
    except (TraceError, RackDataError, CalibrationError) as exc:
        return bad_input([str(exc)])
    except ValueError as exc:
        return bad_input([f"calibrate: {exc}"])
    from twin.html_report import calibration_report_html

    return _write_calibration(args, doc, session.report_text(doc), calibration_report_html(doc, series))


def _check_calibration_outputs(args):
    """OutputError unless the calibration YAML at --out and its HTML page beside it can be written without
    replacing an input or a file twin did not write (--force allows the latter)."""
    from twin.errors import OutputError
    from twin.outputs import check_output_file, contains, starts_with

    if args.out.suffix.lower() in (".html", ".htm"):
        raise OutputError(
            f"--out {args.out}: name the calibration YAML (e.g. calib.yaml); its HTML page is "
            f"written beside it with the suffix .html"
        )
    check_output_file(args.out, "calibration", args.force, args.traces, is_ours=starts_with("# twin calibration"))
    check_output_file(
        args.out.with_suffix(".html"),
        "calibration page",
        args.force,
        args.traces,
        option="--out's page",
        is_ours=contains('<meta name="generator" content="twin">'),
    )


def _write_calibration(args, doc, text, page):
    """Write the calibration YAML and its HTML page, both or neither (a failed write puts back what was there),
    then print the report, or the document with --json; the exit code."""
    from twin.calibrate import calibration

    out, html = args.out, args.out.with_suffix(".html")
    before = out.read_bytes() if out.is_file() else None
    try:
        calibration.write(out, doc)
        files.write_file(html, page)
    except OSError as exc:
        try:  # a YAML without its page is a half-written result
            out.unlink(missing_ok=True) if before is None else files.write_file(out, before.decode("utf-8", "replace"))
        except OSError:
            pass
        return bad_input([f"calibrate: cannot write {exc.filename or out}: {exc.strerror or exc}"])
    print(files.to_json(doc) if args.json else text)
    if not args.json:
        print(f"wrote {out} and {html}")
    return 0


def _calibrate_rack(args):
    from twin.calibrate import rack
    from twin.html_report import rack_calibration_html
    from twin.io.rack_csv import read_rack_csv

    if args.servers_per_rack is None or len(args.traces) != 1:
        return bad_input(["calibrate --rack: give one rack CSV and --servers-per-rack N"])
    fitted = rack.fit_rack(read_rack_csv(args.traces[0]), args.gpu, args.servers_per_rack)
    doc, text = rack.to_calibration_dict(fitted), rack.rack_report(fitted)
    return _write_calibration(args, doc, text, rack_calibration_html(fitted, text))


def cmd_record(args):
    from twin.calibrate.record import RecordError, parse_duration, record
    from twin.outputs import check_output_file

    try:
        duration_s = parse_duration(args.duration)
        if not 0.001 <= args.interval <= 3600.0:
            raise ValueError(f"--interval {args.interval} s: allowed 0.001 to 3600")
        check_output_file(args.out, "trace (an earlier recording is measurements)", args.force)
        summary = record(args.out, args.interval, duration_s)
    except (RecordError, ValueError) as exc:
        return bad_input([f"record: {exc}"])
    print(f"wrote {summary['samples']} samples of {summary['gpus']} GPU(s) to {args.out}")
    return 0
