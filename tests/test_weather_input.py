"""A user's weather file that is malformed or physically impossible is refused with the file, the
line, the field, the value and what is allowed (exit 2, no traceback); the bundled sites' weather
passes the same plausibility screen, and Phoenix's dew-point outliers are repaired at build time."""

import pandas as pd
import pytest
from conftest import short_scenario, write_yaml

from twin.cli import main
from twin.io.hours import SiteDataError
from twin.io.weather import plausibility_problems, read_epw
from twin.physics.psychro import wetbulb_from_dewpoint_c
from twin.sites.index import bundled_site_names, site_entry
from twin.sites.library import _bundled

HEADER = [
    "LOCATION,TEST,-,XXX,test,000000,1.37,103.98,8.0,16.0",
    "DESIGN CONDITIONS,0",
    "TYPICAL/EXTREME PERIODS,0",
    "GROUND TEMPERATURES,0",
    "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
    "COMMENTS 1,synthetic",
    "COMMENTS 2,synthetic",
    "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31",
]
FIELDS = {"drybulb": 6, "dewpoint": 7, "relhum": 8, "tz": 8, "latitude": 6}  # 0-based comma fields


def _rows():
    rows = []
    for day in pd.date_range("2001-01-01", periods=365, freq="D"):
        for hour in range(1, 25):
            rows.append(
                f"2001,{day.month},{day.day},{hour},60,?,27.0,24.0,84,100800,0,0,400,0,0,0,"
                "0,0,0,0,180,2.0,5,5,16.0,77777,9,999999999,40,0.1,0,88,0.2,0.0,0.0"
            )
    return rows


ROWS = _rows()


def _set(line, field, value):
    parts = line.split(",")
    parts[field] = value
    return ",".join(parts)


def _epw(path, cells=(), header=()):
    """A synthetic EPW; cells: (file line, 0-based field, text) edits of data rows; header: (field, text) of line 1."""
    lines = list(HEADER) + list(ROWS)
    for field, text in header:
        lines[0] = _set(lines[0], field, text)
    for line, field, text in cells:
        lines[line - 1] = _set(lines[line - 1], field, text)
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(tmp_path, epw, capsys):
    """python -m twin run on a 1-day scenario with the user's EPW and a grid CSV -> (exit code, stderr)."""
    grid = tmp_path / "g.csv"
    pd.DataFrame(
        {
            "timestamp_utc": pd.date_range("2023-01-01", periods=8760, freq="h", tz="UTC").strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "carbon_g_per_kwh": 400.0,
            "price_usd_per_kwh": 0.08,
            "water_l_per_kwh": 2.0,
        }
    ).to_csv(grid, index=False)
    data = short_scenario(duration="1d", step="3600s", start="2023-06-15")
    data["site"] = {"weather_file": epw.name, "grid_file": grid.name}
    scenario = write_yaml(tmp_path / "s.yaml", data)
    code = main(["run", str(scenario), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "datetime.timedelta" not in err
    return code, err


def test_a_word_in_a_data_cell_names_file_line_field_and_value(tmp_path, capsys):
    code, err = _run(tmp_path, _epw(tmp_path / "w.epw", cells=[(109, FIELDS["drybulb"], "abc")]), capsys)
    assert code == 2
    assert "w.epw: line 109: EPW field 7 dry-bulb temperature [C] = 'abc' is not a number" in err


def test_an_empty_epw_says_what_an_epw_holds(tmp_path, capsys):
    (tmp_path / "w.epw").write_text("")
    code, err = _run(tmp_path, tmp_path / "w.epw", capsys)
    assert code == 2 and "w.epw: empty file; an EPW has 8 header lines then 8,760 hourly rows" in err


@pytest.mark.parametrize(
    "field, text, message",
    [
        ("tz", "abc", "line 1: LOCATION field 9 time zone = 'abc'; allowed -12..14 (hours from UTC)"),
        ("tz", "99", "line 1: LOCATION field 9 time zone = '99'; allowed -12..14 (hours from UTC)"),
        ("latitude", "95", "line 1: LOCATION field 7 latitude = '95'; allowed -90..90 (degrees)"),
    ],
)
def test_a_bad_location_line_is_refused_with_its_range(tmp_path, capsys, field, text, message):
    code, err = _run(tmp_path, _epw(tmp_path / "w.epw", header=[(FIELDS[field], text)]), capsys)
    assert code == 2 and f"w.epw: {message}" in err


def test_longitude_and_elevation_out_of_range_are_refused(tmp_path):
    with pytest.raises(SiteDataError, match=r"line 1: LOCATION field 8 longitude = '200'; allowed -180\.\.180"):
        read_epw(_epw(tmp_path / "a.epw", header=[(7, "200")]))
    with pytest.raises(SiteDataError, match=r"line 1: LOCATION field 10 elevation = '12000'; allowed -500\.\.9000"):
        read_epw(_epw(tmp_path / "b.epw", header=[(9, "12000")]))


def test_seventy_degree_hours_with_a_65_degree_dew_point_give_exit_2(tmp_path, capsys):
    hot = [
        (line, f, v)
        for line in range(4009, 4019)
        for f, v in ((FIELDS["drybulb"], "70"), (FIELDS["dewpoint"], "65"), (FIELDS["relhum"], "80"))
    ]
    code, err = _run(tmp_path, _epw(tmp_path / "w.epw", cells=hot), capsys)
    assert code == 2
    assert "w.epw: line 4009: drybulb_c has 10 missing or out-of-range values" in err and "allowed -70..60" in err


def test_a_wet_bulb_above_35_c_is_refused(tmp_path, capsys):
    cells = [(500, FIELDS["drybulb"], "45.0"), (500, FIELDS["dewpoint"], "40.0"), (500, FIELDS["relhum"], "76")]
    code, err = _run(tmp_path, _epw(tmp_path / "w.epw", cells=cells), capsys)
    assert code == 2
    assert "w.epw: line 500: wet-bulb 40." in err and "allowed: wet-bulb <= 35 C" in err


def test_dew_point_above_dry_bulb_is_refused_beyond_rounding(tmp_path):
    with pytest.raises(
        SiteDataError,
        match=r"d\.epw: line 209: dew point 30 C is above the dry-bulb 27 C .*"
        r"dry-bulb \+ 0\.5 K",
    ):
        read_epw(_epw(tmp_path / "d.epw", cells=[(209, FIELDS["dewpoint"], "30")]))
    read_epw(_epw(tmp_path / "ok.epw", cells=[(209, FIELDS["dewpoint"], "27.4")]))  # within the 0.5 K tolerance


def test_relative_humidity_above_100_is_refused(tmp_path):
    with pytest.raises(
        SiteDataError,
        match=r"r\.epw: line 300: relhum_pct has 1 missing or out-of-range values "
        r".*= 104.*allowed 0\.\.100",
    ):
        read_epw(_epw(tmp_path / "r.epw", cells=[(300, FIELDS["relhum"], "104")]))


def test_a_missing_value_marker_is_named_with_its_file_line(tmp_path, capsys):
    code, err = _run(tmp_path, _epw(tmp_path / "w.epw", cells=[(309, FIELDS["drybulb"], "99.9")]), capsys)
    assert code == 2
    assert (
        "w.epw: line 309: drybulb_c has 1 missing or out-of-range values (first here: EPW field 7 dry-bulb "
        "temperature [C] = 99.9, a missing-value marker); allowed -70..60"
    ) in err
    assert "hour-of-year" not in err


def test_a_short_row_and_a_bad_date_name_their_line(tmp_path):
    with pytest.raises(SiteDataError, match=r"s\.epw: line 20: 3 comma-separated fields"):
        read_epw(_short(_epw(tmp_path / "s.epw"), 20))
    with pytest.raises(SiteDataError, match=r"m\.epw: line 30: EPW month/day/hour 13/1/22 is not a date"):
        read_epw(_epw(tmp_path / "m.epw", cells=[(30, 1, "13")]))


def _short(path, line):
    lines = path.read_text().splitlines()
    lines[line - 1] = "2001,1,1"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_bundled_sites_weather_passes_the_plausibility_screen():
    for name in bundled_site_names():
        frame = _bundled(name)[0]
        assert plausibility_problems(frame, lambda i, name=name: f"{name}: hour {i}") == [], name


def test_phoenix_dew_point_outliers_are_repaired_and_named_in_its_sources():
    frame = _bundled("phoenix-az")[0]
    wetbulb = wetbulb_from_dewpoint_c(*(frame[c].to_numpy(float) for c in ("drybulb_c", "dewpoint_c", "pressure_pa")))
    assert frame["dewpoint_c"].max() < 29.0  # 32.0 C before the repair
    assert wetbulb.max() < 30.0  # 33.0 C before
    assert "repaired [D]: 6 hours of dew point" in site_entry("phoenix-az")["sources"]["weather"]
    assert "repaired" not in site_entry("ashburn-va")["sources"]["weather"]
