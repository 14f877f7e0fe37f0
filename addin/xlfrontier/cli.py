"""The ``xlfrontier`` command line.

``xlfrontier`` (or ``xlfrontier run``) writes a filled workbook built on the bundled sample data
(or a CSV of your assets) to the current directory and prints a summary: the minimum-variance,
maximum-Sharpe and target portfolios and the efficient frontier. Other commands::

    xlfrontier template [--out PATH] [--force]  regenerate the template workbook
    xlfrontier recalc BOOK.xlsx [--out OUT [--force] | --in-place]
                                                recalculate a workbook without Excel
    xlfrontier doctor [--excel-bitness 32|64] [--addin PATH] [--startup-path PATH] [--report FILE]
                                                check why the Excel add-in does not work

Files are written whole or not at all (into a temporary file beside the target, renamed over it
when complete). An existing file is replaced only with ``--force``, or when xlfrontier chose
its name (the default output) and it is xlfrontier's own output, unchanged since; a symbolic
link is never written through.

Exit codes: 0 success; 1 a bad file or bad inputs (the message says what to fix; a workbook
may still have been written with error texts in the affected cells); 2 a usage error; 3 the
output file exists and was left as it was (pass --force to replace it). User errors never
print a traceback.

Imports are lazy so that ``xlfrontier --help`` starts fast: the workbook generator, the
worksheet functions (xlwings, pandas) and the ``formulas`` package load only when a command
needs them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from xlfrontier.exceptions import CommandError, CommandExistsError, XlfrontierError

__all__ = ["main"]

DEFAULT_OUTPUT = "xlfrontier_frontier.xlsx"

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_EXISTS = 0, 1, 2, 3

_FORCE_HELP = "replace the output file if it exists"


# A problem the user can fix, printed as one message: exit code EXIT_ERROR, or EXIT_EXISTS
# when the output exists (the classes carry the codes; tests/test_seams.py checks them).
_UserError, _ExistsError = CommandError, CommandExistsError


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _rate(text: str) -> float:
    """Parse a rate typed as ``3%`` or ``0.03``."""
    raw = text.strip()
    scale = 0.01 if raw.endswith("%") else 1.0
    try:
        value = float(raw.rstrip("%")) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate: type 3% or 0.03") from None
    if scale == 1.0 and abs(value) > 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} looks like a percentage: type {value:g}% or {value / 100:g}"
        )
    return value


def _points(text: str) -> int:
    from xlfrontier.excel.limits import MAX_POINTS, MIN_POINTS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not MIN_POINTS <= value <= MAX_POINTS:
        raise argparse.ArgumentTypeError(f"points must be between {MIN_POINTS} and {MAX_POINTS}")
    return value


def _parser() -> argparse.ArgumentParser:
    from xlfrontier import __version__

    parser = argparse.ArgumentParser(
        prog="xlfrontier",
        description="Exact Markowitz portfolio optimisation for Excel. Without a command, "
        "runs 'run': writes a filled workbook on the sample data and prints the "
        "results.",
    )
    parser.add_argument("--version", action="version", version=f"xlfrontier {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="write a filled workbook and print the optimal portfolios (default)",
        description="Build the workbook (inputs, formulas, computed results and charts) on the "
        "sample data or your assets, and print a summary.",
    )
    _add_run_arguments(run)

    template = sub.add_parser(
        "template",
        help="regenerate the template workbook",
        description="Write the template workbook (sample data, formulas, stored results). "
        "Default: workbook_templates/ when run inside the xlfrontier repository, "
        "else the current directory.",
    )
    template.add_argument(
        "--out", type=Path, metavar="PATH", help="file or directory to write (default: see above)"
    )
    template.add_argument("--force", action="store_true", help=_FORCE_HELP)

    recalc = sub.add_parser(
        "recalc",
        help="recalculate a workbook without Excel (into a copy)",
        description="Evaluate the workbook's formulas with the xlfrontier functions and write "
        "the values (and chart data) into a copy: BOOK.recalc.xlsx unless --out "
        "or --in-place. Needs the optional 'formulas' package "
        '(pip install "xlfrontier[recalc]").',
    )
    recalc.add_argument("book", type=Path, metavar="BOOK", help="the .xlsx or .xlsm to read")
    where = recalc.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="OUT", help="where to write the copy")
    where.add_argument(
        "--in-place", action="store_true", help="overwrite BOOK instead of writing a copy"
    )
    recalc.add_argument("--force", action="store_true", help=_FORCE_HELP)

    try:
        from xlfrontier.excel.addin import add_addin_commands
        from xlfrontier.excel.doctor import add_doctor_command
    except ImportError:
        pass  # the Excel add-in commands are not installed in this build
    else:
        add_addin_commands(sub)
        add_doctor_command(sub)
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"workbook to write (default: ./{DEFAULT_OUTPUT})",
    )
    parser.add_argument("--force", action="store_true", help=_FORCE_HELP)
    parser.add_argument(
        "--assets",
        type=Path,
        metavar="CSV",
        help="your assets instead of the sample: columns asset, "
        "expected_return, volatility, min_weight, max_weight, then the "
        "correlation matrix (one column per asset); comma- or semicolon-separated, as Excel "
        "saves it",
    )
    parser.add_argument(
        "--prices",
        type=Path,
        metavar="CSV",
        help="your price history for the Prices sheet instead of the sample: columns date "
        "(YYYY-MM-DD, oldest first), then one column of prices per asset; as many assets as "
        "the asset table for the 'Inputs from' switch to offer Prices",
    )
    parser.add_argument(
        "--inputs-from",
        choices=("assumptions", "prices"),
        default="assumptions",
        help="the route the Optimizer and Frontier start on (the Inputs sheet's switch): "
        "the asset table (default) or the estimates from the prices",
    )
    parser.add_argument(
        "--rf", type=_rate, metavar="RATE", help="risk-free rate, e.g. 3%% (default 3%%)"
    )
    parser.add_argument(
        "--target", type=_rate, metavar="RETURN", help="target return, e.g. 6%% (default 6%%)"
    )
    parser.add_argument(
        "--points", type=_points, metavar="N", help="rows of the frontier table (default 25)"
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="write values only, no formulas (for LibreOffice, Google Sheets or "
        "readers without the add-in)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the file written")


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from dataclasses import replace

    from xlfrontier.exceptions import InputError
    from xlfrontier.workbook.template import (
        INPUTS_FROM,
        SAMPLE,
        SAMPLE_PRICES,
        build_workbook,
        read_assumptions_csv,
        read_prices_csv,
    )

    inputs_from = INPUTS_FROM[1] if args.inputs_from == "prices" else INPUTS_FROM[0]
    try:
        assumptions = read_assumptions_csv(args.assets) if args.assets else SAMPLE
        prices = read_prices_csv(args.prices) if args.prices else SAMPLE_PRICES
        if inputs_from == INPUTS_FROM[1] and prices.n_assets != assumptions.n_assets:
            raise InputError(
                f"--inputs-from prices needs as many price columns as assets: the prices have "
                f"{prices.n_assets}, the asset table {assumptions.n_assets}",
                "inputs_from",
            )
        changes: dict[str, Any] = {}
        if args.rf is not None:
            changes["risk_free_rate"] = args.rf
        if args.target is not None:
            changes["target_return"] = args.target
        if args.points is not None:
            changes["frontier_points"] = args.points
        assumptions = replace(assumptions, **changes)
        assumptions.check()
    except InputError as err:
        raise _UserError(str(err)) from err
    path = args.out if args.out is not None else Path.cwd() / DEFAULT_OUTPUT
    named = not path.is_dir() and args.out is not None
    if path.is_dir():
        path = path / DEFAULT_OUTPUT
    if path.suffix.lower() != ".xlsx":
        raise _UserError(f"{path.name}: the workbook must be an .xlsx file")
    existed = _check_output(path, args.force, named)
    try:
        result = build_workbook(
            path, assumptions, prices=prices, inputs_from=inputs_from, static=args.static
        )
    except OSError as err:
        raise _UserError(f"cannot write {path}: {_why(err)}") from err
    if args.quiet:
        print(path, file=out)
    else:
        print(_summary(assumptions, prices, inputs_from, result, existed), file=out)
    if result.errors:
        print("\nSome results are errors; fix the inputs:", file=sys.stderr)
        _print_errors(result.errors)
        return EXIT_ERROR
    return EXIT_OK


def _template(args: argparse.Namespace, out: TextIO) -> int:
    from xlfrontier._resources import find_templates_dir
    from xlfrontier.workbook.template import TEMPLATE_FILENAME, generate_template

    # Default: the checkout containing the current directory, else the current directory.
    folder = find_templates_dir(Path.cwd()) or Path.cwd()
    target = args.out if args.out is not None else folder / TEMPLATE_FILENAME
    if target.suffix.lower() != ".xlsx" and not target.is_dir():
        raise _UserError(f"{target}: give an .xlsx file or an existing directory")
    named = not target.is_dir() and args.out is not None
    if target.is_dir():
        target = target / TEMPLATE_FILENAME
    _check_output(target, args.force, named)
    try:
        path = generate_template(target)
    except OSError as err:
        raise _UserError(f"cannot write {target}: {_why(err)}") from err
    print(f"Wrote the template: {path}", file=out)
    return EXIT_OK


def _recalc(args: argparse.Namespace, out: TextIO) -> int:
    from xlfrontier.workbook.recalc import WorkbookError, default_output, recalc_workbook

    if args.in_place:  # only the link rule: overwriting BOOK is what --in-place asks for
        _check_output(args.book, True, True)
    elif args.book.is_file():  # else recalc_workbook says what is wrong with BOOK
        dest = args.out if args.out is not None else default_output(args.book)
        if dest.resolve() != args.book.resolve():  # else recalc_workbook refuses it
            _check_output(dest, args.force, args.out is not None)
    try:
        result = recalc_workbook(args.book, args.out, in_place=args.in_place)
    except WorkbookError as err:
        raise _UserError(str(err)) from err
    except ImportError as err:
        raise _UserError(str(err)) from err
    except OSError as err:
        raise _UserError(f"cannot recalculate {args.book}: {_why(err)}") from err
    print(f"Recalculated {result.formulas} formulas of {args.book.name} -> {result.path}", file=out)
    for line in result.resized:
        print(f"  spill range resized: {line}", file=out)
    if result.errors:
        print(f"{len(result.errors)} formulas give errors:", file=sys.stderr)
        _print_errors(result.errors)
        return EXIT_ERROR
    return EXIT_OK


def _check_output(path: Path, force: bool, named_by_user: bool) -> bool:
    """Refuse an output path that may not be written; return whether it replaces a file."""
    from xlfrontier.workbook._output import OutputError, OutputExistsError, check_output

    try:
        return check_output(path, force=force, named_by_user=named_by_user)
    except OutputExistsError as err:
        raise _ExistsError(str(err)) from err
    except OutputError as err:
        raise _UserError(str(err)) from err


def _why(err: OSError) -> str:
    """Return the reason of a failed write, with the usual cause of a refusal on Windows."""
    text = str(err.strerror or err)
    if isinstance(err, PermissionError):
        text += " (if the file is open in Excel, close it and run the command again)"
    return text


def _print_errors(errors: list[str], limit: int = 12) -> None:
    """Print the errors that have their own cause; those that only quote another are counted."""
    primary = [e for e in errors if '"#' not in e] or errors
    for line in primary[:limit]:
        print(f"  {line}", file=sys.stderr)
    rest = len(errors) - min(len(primary), limit)
    if rest:
        print(f"  ... and {rest} more cells that depend on these", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _pct(x: Any, digits: int = 2) -> str:
    return f"{x:.{digits}%}" if isinstance(x, float) else str(x)


def _num(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _summary(assumptions: Any, prices: Any, inputs_from: str, result: Any, replaced: bool) -> str:
    from xlfrontier import __version__

    t = result.tables
    n = assumptions.n_assets
    on_prices = inputs_from == "Prices"
    names = prices.tickers if on_prices else assumptions.names
    target = prices.target_return if on_prices else assumptions.target_return
    lines = [
        f"xlfrontier {__version__}: {n} assets, risk-free rate "
        f"{_pct(assumptions.risk_free_rate)}, target return {_pct(target)}"
    ]
    if on_prices:
        origin = (
            f"estimated from the Prices sheet ({len(prices.dates)} dates, "
            f"{prices.dates[0]} to {prices.dates[-1]})"
        )
    elif assumptions.source.startswith("Sample data"):
        origin = "sample data (illustrative long-run capital-market assumptions)"
    else:
        origin = assumptions.source
    lines.append(f"Inputs from {inputs_from}: {origin}")
    lines.append(f"Wrote {_shown(result.path)}{' (replaced)' if replaced else ''}")
    lines.append(
        "  sheets Start, Inputs, Optimizer, Frontier, Prices; open it in Excel with the xlfrontier"
        " add-in"
    )
    if len(result.inputs_from_choices) == 1:
        lines.append(
            f"  'Inputs from' offers only Assumptions: the Prices sheet has {prices.n_assets} "
            f"assets, the asset table {n} (give --prices with {n} price columns to switch)"
        )
    rng = t.get("frontier_range")
    if rng is not None and rng.shape == (3, 3):
        lines.append("")
        lines.append(
            f"Feasible target returns: {_pct(rng[1, 1])} (minimum variance) to "
            f"{_pct(rng[2, 1])} (highest attainable)"
        )
    width = max(24, *(len(name) + 4 for name in names)) + 2
    heads = ("Minimum variance", "Maximum Sharpe", f"Target {_pct(target)}")
    lines += ["", "Portfolios".ljust(width) + "".join(h.rjust(18) for h in heads)]
    for label, key, fmt in (
        ("Expected return", "portfolio_return", _pct),
        ("Volatility", "portfolio_vol", _pct),
        ("Sharpe ratio", "portfolio_sharpe", _num),
    ):
        cells = [t.get(f"{p}_{key}") for p in ("gmv", "maxsharpe", "target")]
        lines.append(
            "  "
            + label.ljust(width - 2)
            + "".join(fmt(c[0, 0]).rjust(18) if c is not None else "".rjust(18) for c in cells)
        )
    lines.append("  Weights")
    weights = [t.get(k) for k in ("w_gmv", "w_maxsharpe", "w_target")]
    for i, name in enumerate(names):
        row = []
        for w in weights:
            value = (
                w.ravel()[i]
                if w is not None and w.size == n
                else (w[0, 0] if w is not None and i == 0 else "")
            )
            row.append(_pct(value, 1) if isinstance(value, float) else str(value)[:17])
        lines.append("    " + name.ljust(width - 4) + "".join(c.rjust(18) for c in row))

    table = t.get("frontier")
    if table is not None and table.shape[0] > 1 and table.shape[1] == 3 + n:
        lines += [
            "",
            f"Efficient frontier ({table.shape[0] - 1} portfolios, evenly spaced "
            f"in return; Sharpe at rf {_pct(assumptions.risk_free_rate)})",
            f"  {'Return':>8}  {'Volatility':>10}  {'Sharpe':>6}  Largest weights",
        ]
        names = [str(x) for x in table[0, 3:]]
        for row in table[1:]:
            holdings = sorted(
                ((w, k) for k, w in enumerate(row[3:]) if isinstance(w, float) and w > 0.0005),
                reverse=True,
            )[:3]
            top = ", ".join(f"{names[k]} {w:.0%}" for w, k in holdings)
            line = f"  {_pct(row[0]):>8}  {_pct(row[1]):>10}  {_num(row[2]):>6}  {top}"
            lines.append(line if len(line) <= 120 else line[:119] + "…")
    elif table is not None:
        lines += ["", f"Efficient frontier: {table[0, 0]}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

_COMMANDS = {"run": _run, "template": _template, "recalc": _recalc}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run", *argv]  # the main job is the default command
    args = parser.parse_args(argv)
    handler = _COMMANDS.get(args.command)
    func = getattr(args, "func", None)  # commands added by add_addin_commands
    if handler is None and func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if handler is not None:
            return handler(args, sys.stdout)
        assert func is not None  # checked above
        return int(func(args) or 0)
    except _UserError as err:
        print(f"xlfrontier {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except XlfrontierError as err:  # raised by a command's own code for bad input
        print(f"xlfrontier {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
