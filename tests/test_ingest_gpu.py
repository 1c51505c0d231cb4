"""GPU imports: nvidia-smi CSV logs and DCGM exporter text, the samples and bad input."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.ingest.base import ImportFailed
from bot.ingest.gpu import normalise_gpu_model
from bot.ingest.loader import import_file
from bot.mapping import load_mapping
from bot.models.usage import GpuUsage

# The published sample exports, bundled under tests/fixtures/formats/ (sources in its README).
GPU = Path(__file__).resolve().parent / "fixtures" / "formats" / "gpu"
MAPPING = load_mapping(Path(__file__).parent / "fixtures" / "mapping.yml")
CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc))
UTC = timezone.utc
D = Decimal


def run_import(engine: sa.Engine, path: Path, **options):
    format_name = options.pop("format_name", None)
    skip_bad_rows = options.pop("skip_bad_rows", False)
    return import_file(
        path, engine=engine, mapping=MAPPING, clock=CLOCK, format_name=format_name,
        skip_bad_rows=skip_bad_rows, options=options,
    )


def stored(engine: sa.Engine) -> list[GpuUsage]:
    with Session(engine) as session:
        query = select(GpuUsage).order_by(GpuUsage.host, GpuUsage.sampled_at, GpuUsage.gpu_index)
        return list(session.exec(query))


def failure(engine: sa.Engine, path: Path, **options) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, path, **options)
    return [str(error) for error in caught.value.errors]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# nvidia-smi --query-gpu=timestamp,index,name,uuid,utilization.gpu,memory.used,memory.total,power.draw
# --format=csv -l 60 on a host with two GPUs; the A100 reports no power draw.
TWO_GPU_LOG = """timestamp, index, name, uuid, utilization.gpu [%], memory.used [MiB], memory.total [MiB], power.draw [W]
2026/11/19 10:00:00.000, 0, NVIDIA H100 80GB HBM3, GPU-aaaa, 10 %, 1024 MiB, 81559 MiB, 120.50 W
2026/11/19 10:00:00.000, 1, NVIDIA A100-SXM4-80GB, GPU-bbbb, 75 %, 40000 MiB, 81920 MiB, [N/A]
2026/11/19 10:01:00.000, 0, NVIDIA H100 80GB HBM3, GPU-aaaa, 12 %, 1024 MiB, 81559 MiB, 121.00 W
2026/11/19 10:01:00.000, 1, NVIDIA A100-SXM4-80GB, GPU-bbbb, 77 %, 40100 MiB, 81920 MiB, [N/A]
2026/11/19 10:02:00.000, 0, NVIDIA H100 80GB HBM3, GPU-aaaa, 8 %, 1024 MiB, 81559 MiB, 119.50 W
2026/11/19 10:02:00.000, 1, NVIDIA A100-SXM4-80GB, GPU-bbbb, 79 %, 40200 MiB, 81920 MiB, [N/A]
"""


def test_timestamp_util_sample(engine: sa.Engine) -> None:
    path = GPU / "nvidia_smi_timestamp_util.csv"
    summary = run_import(engine, path)
    assert (summary.format, summary.rows_read, summary.rows_imported) == ("nvidia_smi", 8, 8)

    rows = stored(engine)
    # 100 + 88 + 0 + 35 + 35 + 36 + 38 + 33 = 365 over 8 samples
    assert sum(row.utilization_pct for row in rows) == 365
    assert sum(row.utilization_pct for row in rows) / len(rows) == 45.625
    # Samples are one second apart (13:03:31.000 to 13:03:38.002); the last reuses 1 s.
    assert [row.interval_seconds for row in rows] == [1] * 8
    assert rows[0].sampled_at == datetime(2024, 9, 8, 13, 3, 31, tzinfo=UTC)
    assert rows[-1].sampled_at == datetime(2024, 9, 8, 13, 3, 38, 2000, tzinfo=UTC)
    # No host column or option: the file name names the host, which the mapping lists.
    assert {row.host for row in rows} == {"nvidia_smi_timestamp_util"}
    assert {(row.gpu_model, row.hourly_rate_usd, row.team, row.feature) for row in rows} == {
        ("A100", D("3.43"), "ml-platform", "batch-train")
    }
    assert {row.gpu_index for row in rows} == {0}
    # The host is in the mapping, so only the missing time zone is worth a warning.
    assert summary.warnings == [
        f"{path}: timestamps have no time zone and host 'nvidia_smi_timestamp_util' has none in the mapping; "
        "read as UTC (pass --host-tz or set hosts.<host>.timezone)",
    ]


def test_host_timezone_from_mapping(engine: sa.Engine) -> None:
    summary = run_import(engine, GPU / "nvidia_smi_timestamp_util.csv", host="gpu-berlin-01")
    rows = stored(engine)
    # gpu-berlin-01's clock is Europe/Berlin: 13:03:31 CEST (UTC+2) is 11:03:31 UTC.
    assert rows[0].sampled_at == datetime(2024, 9, 8, 11, 3, 31, tzinfo=UTC)
    assert {(row.host, row.gpu_model, row.hourly_rate_usd) for row in rows} == {("gpu-berlin-01", "H100", D("6.88"))}
    assert summary.warnings == []


def test_host_tz_option_wins(engine: sa.Engine) -> None:
    run_import(engine, GPU / "nvidia_smi_timestamp_util.csv", host="gpu-berlin-01", host_tz="America/New_York")
    # 13:03:31 EDT (UTC-4) is 17:03:31 UTC.
    assert stored(engine)[0].sampled_at == datetime(2024, 9, 8, 17, 3, 31, tzinfo=UTC)


def test_util_power_snapshot(engine: sa.Engine) -> None:
    path = GPU / "nvidia_smi_util_power.csv"
    summary = run_import(engine, path, host="a100-01", time="2024-09-08T12:00:00Z")
    [row] = stored(engine)
    # "100 %, 0 %, 592.74 W": no timestamp, so the --time option dates the snapshot.
    assert (row.utilization_pct, row.power_w) == (100.0, 592.74)
    assert row.sampled_at == datetime(2024, 9, 8, 12, tzinfo=UTC)
    assert (row.host, row.gpu_index, row.interval_seconds) == ("a100-01", 0, 60)
    assert (row.hourly_rate_usd, row.team, row.feature) == (D("3.43"), "ml-platform", "serving")
    # a100-01 has no gpu_model in the mapping and the log has no name column.
    assert row.gpu_model == "unknown"
    assert summary.warnings == [
        f"{path}: 1 sample(s) had no following sample of the same GPU; each counts as 60 s; "
        "pass --interval-seconds to set it"
    ]


def test_snapshot_dated_by_modification_time(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "node-3.csv", "utilization.gpu [%], power.draw [W]\n40 %, 300 W\n55 %, 310 W\n")
    moment = datetime(2026, 11, 19, 8, 30, tzinfo=UTC)
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    summary = run_import(engine, path, interval_seconds=300)
    rows = stored(engine)
    # One snapshot: its rows are the host's GPUs 0 and 1, both dated by the file's mtime.
    assert [(row.host, row.gpu_index, row.utilization_pct, row.interval_seconds) for row in rows] == [
        ("node-3", 0, 40.0, 300), ("node-3", 1, 55.0, 300),
    ]
    assert {row.sampled_at for row in rows} == {moment}
    assert summary.warnings == [
        f"{path}: host name 'node-3' taken from the file name; pass --host to set it",
        f"{path}: the file has no timestamps; samples dated by the file's modification time "
        "2026-11-19T08:30:00+00:00; pass --time to set it",
    ]


def test_two_gpu_log(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "gpu-berlin-01.2026-11-19.csv", TWO_GPU_LOG)
    summary = run_import(engine, path)
    assert (summary.rows_read, summary.rows_imported) == (6, 6)
    rows = stored(engine)
    h100 = [row for row in rows if row.gpu_index == 0]
    a100 = [row for row in rows if row.gpu_index == 1]

    # Host from the file name up to its first dot; the mapping puts it in Europe/Berlin, so
    # 10:00 CET (UTC+1 in November) is 09:00 UTC.
    assert {row.host for row in rows} == {"gpu-berlin-01"}
    assert [row.sampled_at for row in h100] == [datetime(2026, 11, 19, 9, minute, tzinfo=UTC) for minute in (0, 1, 2)]
    # Samples 60 s apart: 60, 60, and the last reuses 60.
    assert [row.interval_seconds for row in rows] == [60] * 6
    assert {(row.gpu_model, row.gpu_name, row.gpu_uuid) for row in h100} == {("H100", "NVIDIA H100 80GB HBM3", "GPU-aaaa")}
    assert {(row.gpu_model, row.gpu_uuid) for row in a100} == {("A100", "GPU-bbbb")}
    # H100: (10 + 12 + 8) / 3 = 10 %; A100: (75 + 77 + 79) / 3 = 77 %
    assert sum(row.utilization_pct for row in h100) / 3 == 10
    assert sum(row.utilization_pct for row in a100) / 3 == 77
    assert [row.memory_used_mib for row in a100] == [40000, 40100, 40200]
    assert {row.memory_total_mib for row in h100} == {81559}
    # 120.50 + 121.00 + 119.50 = 361.00 W; the A100 prints [N/A]
    assert sum(row.power_w for row in h100) == 361.0
    assert {row.power_w for row in a100} == {None}
    # The rate is per GPU-hour: 6 samples x 60 s = 360 s = 0.1 GPU-hours x 6.88 = 0.688 USD
    gpu_hours = D(sum(row.interval_seconds for row in rows)) / 3600
    assert gpu_hours * rows[0].hourly_rate_usd == D("0.688")


def test_reimport_counts_once(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "gpu-berlin-01.csv", TWO_GPU_LOG)
    run_import(engine, path)
    again = run_import(engine, path)
    assert (again.rows_imported, again.rows_duplicate) == (0, 6)
    assert len(stored(engine)) == 6


def test_rows_without_index(engine: sa.Engine, tmp_path: Path) -> None:
    text = (
        "timestamp, utilization.gpu [%]\r\n"
        "2026/11/19 10:00:00.000, 5 %\r\n2026/11/19 10:00:00.000, 95 %\r\n"
        "2026/11/19 10:00:10.000, 6 %\r\n2026/11/19 10:00:10.000, 96 %\r\n"
    )
    path = write(tmp_path / "h.csv", text)
    run_import(engine, path, host="gpu-x", host_tz="UTC")
    rows = stored(engine)
    # Rows sharing a timestamp are GPUs 0 and 1 in order; CRLF line ends are fine.
    assert [(row.gpu_index, row.utilization_pct, row.interval_seconds) for row in rows] == [
        (0, 5.0, 10), (1, 95.0, 10), (0, 6.0, 10), (1, 96.0, 10),
    ]


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA H100 PCIe", "H100"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA A100-SXM4-80GB", "A100"),
        ("NVIDIA A100 80GB PCIe", "A100"),
        ("NVIDIA A10G", "A10G"),
        ("NVIDIA A10", "A10"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100"),
        ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
        ("", None),
    ],
)
def test_normalise_gpu_model(name: str, model: str | None) -> None:
    assert normalise_gpu_model(name) == model


def nvidia_bad_cases() -> list[tuple[str, str, str]]:
    header = "timestamp, index, utilization.gpu [%], memory.used [MiB]\n"
    good = "2026/11/19 10:00:00.000, 0, 10 %, 100 MiB\n"
    return [
        ("bad_timestamp", header + good + "19.11.2026 10:01, 0, 10 %, 100 MiB\n",
         ":3: timestamp: '19.11.2026 10:01': unknown timestamp format; expected YYYY/MM/DD HH:MM:SS.mmm as "
         "nvidia-smi prints it"),
        ("negative", header + good + "2026/11/19 10:01:00.000, 0, -5 %, 100 MiB\n",
         ":3: utilization.gpu [%]: '-5 %': negative value; expected zero or more"),
        ("over_100", header + good + "2026/11/19 10:01:00.000, 0, 150 %, 100 MiB\n",
         ":3: utilization.gpu [%]: '150 %': utilization above 100 %"),
        ("wrong_unit", header + good + "2026/11/19 10:01:00.000, 0, 10 %, 100 GiB\n",
         ":3: memory.used [MiB]: '100 GiB': unit 'GiB' differs from the header's [MiB]"),
        ("not_number", header + good + "2026/11/19 10:01:00.000, 0, busy, 100 MiB\n",
         ":3: utilization.gpu [%]: 'busy': not a number in %"),
        ("null", header + good + "2026/11/19 10:01:00.000, 0, 10 %, null\n" + good.replace("10:00", "10:02"),
         None),
        ("bad_index", header + good + "2026/11/19 10:01:00.000, first, 10 %, 100 MiB\n",
         ":3: index: 'first': not a GPU index; expected a whole number such as 0"),
        ("short_row", header + good + "2026/11/19 10:01:00.000, 0, 10 %\n",
         ":3: row: '2026/11/19 10:01:00.000,0,10 %': 3 values but the header has 4 columns; check for a missing "
         "or extra comma or an unquoted value"),
    ]


@pytest.mark.parametrize(("name", "text", "expected"), nvidia_bad_cases(), ids=[case[0] for case in nvidia_bad_cases()])
def test_nvidia_bad_row(engine: sa.Engine, tmp_path: Path, name: str, text: str, expected: str | None) -> None:
    path = write(tmp_path / f"{name}.csv", text)
    if expected is None:
        # `null` is read as a missing value, like [N/A].
        run_import(engine, path, host="h", host_tz="UTC")
        assert [row.memory_used_mib for row in stored(engine)] == [100.0, None, 100.0]
        return
    assert failure(engine, path, host="h", host_tz="UTC") == [f"{path}{expected}"]
    assert stored(engine) == []


def test_nvidia_skip_bad_rows(engine: sa.Engine, tmp_path: Path) -> None:
    text = TWO_GPU_LOG.replace("77 %", "177 %")
    path = write(tmp_path / "gpu-berlin-01.csv", text)
    summary = run_import(engine, path, skip_bad_rows=True)
    assert (summary.rows_read, summary.rows_imported, summary.rows_rejected) == (6, 5, 1)
    # The A100's 10:01 sample is set aside, so its 10:00 sample covers the 120 s to 10:02.
    a100 = [row for row in stored(engine) if row.gpu_index == 1]
    assert [(row.utilization_pct, row.interval_seconds) for row in a100] == [(75.0, 120), (79.0, 120)]


def test_nvidia_header_without_metrics(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "names.csv", "index, name, pci.bus_id\n0, NVIDIA L4, 00000000:00:1E.0\n")
    assert failure(engine, path, host="h") == [
        f"{path}:1: header: 'index, name, pci.bus_id': no utilization.gpu, memory.used or power.draw column; "
        "add one of them to --query-gpu"
    ]


def test_nvidia_wrong_delimiter(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "semi.csv", "timestamp; utilization.gpu [%]\n2026/11/19 10:00:00.000; 5 %\n")
    assert failure(engine, path, format_name="nvidia_smi") == [
        f"{path}:1: header: 'timestamp; utilization.gpu [%]': columns are separated by ';', not commas; "
        "export the nvidia-smi CSV log as comma-separated CSV"
    ]


def test_nvidia_empty_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "empty.csv", "")
    assert failure(engine, path, format_name="nvidia_smi") == [
        f"{path}:1: file: '': the file is empty; export it again with data"
    ]


def test_nvidia_bom_inside(engine: sa.Engine, tmp_path: Path) -> None:
    part = "\ufeffutilization.gpu [%]\n5 %\n"
    path = write(tmp_path / "joined.csv", part + part)
    assert failure(engine, path, host="h", time="2026-11-19T00:00:00Z") == [
        f"{path}:3: utilization.gpu [%]: '\\ufeffutilization.gpu [%]': byte-order mark inside the file "
        "(were two files joined?); remove it"
    ]


def test_nvidia_bad_options(engine: sa.Engine, tmp_path: Path) -> None:
    log = write(tmp_path / "h.csv", TWO_GPU_LOG)
    assert failure(engine, log, host_tz="Mars/Olympus") == [
        f"{log}: --host-tz: 'Mars/Olympus': unknown IANA time zone 'Mars/Olympus'; use a name such as "
        "Europe/Berlin or UTC"
    ]
    snapshot = GPU / "nvidia_smi_util_power.csv"
    assert failure(engine, snapshot, time="2024-09-08 12:00") == [
        f"{snapshot}: --time: '2024-09-08 12:00': time without a zone; add Z or an offset such as +01:00"
    ]
    assert failure(engine, snapshot, time="2024-09-08") == [
        f"{snapshot}: --time: '2024-09-08': a date without a time; expected an RFC 3339 time such as "
        "2026-11-19T14:00:00Z"
    ]


def test_nvidia_latin1_name(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name, utilization.gpu [%]\nGPU \u00e9t\u00e9, 5 %\n".encode("latin-1"))
    assert failure(engine, path, host="h", time="2026-11-19T00:00:00Z") == [
        f"{path}:2: encoding: b'\\xe9': not valid UTF-8 (the file may be Latin-1 or Windows-1252); "
        "save it as UTF-8 and import it again"
    ]


# Two scrapes, 30 s apart, of two GPUs on dcgm-node-7 in Kubernetes namespace "staging".
DCGM_SCRAPES = """# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1111",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="staging",pod=""} 20 1763542800000
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-2222",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="",pod=""} 9223372036854775794 1763542800000
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1111",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="staging"} 30000 1763542800000
DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-1111",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="staging"} 50000 1763542800000
DCGM_FI_DEV_FB_RESERVED{gpu="0",UUID="GPU-1111",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="staging"} 1559 1763542800000
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-1111",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="staging"} 250.5 1763542800000
...
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1111",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="staging",pod=""} 40 1763542830000
DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-2222",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="dcgm-node-7",namespace="",pod=""} 70 1763542830000
"""


def test_dcgm_published_sample(engine: sa.Engine) -> None:
    path = GPU / "dcgm_exporter_readme_docker.prom"
    summary = run_import(engine, path, host="a100-01", time="2024-09-08T12:00:00Z")
    assert (summary.format, summary.rows_imported) == ("dcgm", 1)
    [row] = stored(engine)
    # The sample has SM and memory clocks and a memory temperature (the blank sentinel
    # 9223372036854775794) for GPU 0; none is a utilization, memory or power reading.
    assert (row.host, row.gpu_index, row.gpu_uuid) == ("a100-01", 0, "GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52")
    assert (row.utilization_pct, row.memory_used_mib, row.power_w) == (None, None, None)
    assert row.sampled_at == datetime(2024, 9, 8, 12, tzinfo=UTC)
    assert (row.hourly_rate_usd, row.team) == (D("3.43"), "ml-platform")


def test_dcgm_scrapes(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "scrape.prom", DCGM_SCRAPES)
    summary = run_import(engine, path)
    assert summary.rows_imported == 4  # 2 GPUs x 2 scrapes
    rows = stored(engine)
    first = datetime.fromtimestamp(1763542800, UTC)  # 2025-11-19T09:00:00Z
    assert first == datetime(2025, 11, 19, 9, tzinfo=UTC)

    gpu0 = [row for row in rows if row.gpu_index == 0]
    gpu1 = [row for row in rows if row.gpu_index == 1]
    assert [row.sampled_at for row in gpu0] == [first, first + timedelta(seconds=30)]
    assert [row.interval_seconds for row in rows] == [30] * 4
    assert [row.utilization_pct for row in gpu0] == [20.0, 40.0]
    # GPU 1's first utilization is the blank sentinel, so it is unknown, not 0.
    assert [row.utilization_pct for row in gpu1] == [None, 70.0]
    # FB used 30000 + free 50000 + reserved 1559 = 81559 MiB total
    assert (gpu0[0].memory_used_mib, gpu0[0].memory_total_mib, gpu0[0].power_w) == (30000.0, 81559.0, 250.5)
    assert {row.gpu_model for row in rows} == {"H100"}
    # dcgm-node-7 maps to team inference, environment prod at 2.50 USD per GPU-hour; the
    # namespace label (tag_keys: namespace -> environment) overrides the environment.
    assert {(row.host, row.team, row.hourly_rate_usd) for row in rows} == {("dcgm-node-7", "inference", D("2.50"))}
    assert {row.environment for row in gpu0} == {"staging"}
    assert {row.environment for row in gpu1} == {"prod"}


def dcgm_bad_cases() -> list[tuple[str, str, str]]:
    labels = '{gpu="0",UUID="GPU-1111",Hostname="n"}'
    return [
        ("negative", f"DCGM_FI_DEV_FB_USED{labels} -5\n", f"DCGM_FI_DEV_FB_USED: '-5': negative value; a GPU metric is zero or more"),
        ("over_100", f"DCGM_FI_DEV_GPU_UTIL{labels} 130\n", "DCGM_FI_DEV_GPU_UTIL: '130': utilization above 100 %"),
        ("not_number", f"DCGM_FI_DEV_GPU_UTIL{labels} busy\n", "DCGM_FI_DEV_GPU_UTIL: 'busy': not a number"),
        ("labels", 'DCGM_FI_DEV_GPU_UTIL{gpu=0} 5\n',
         "DCGM_FI_DEV_GPU_UTIL: 'gpu=0': invalid labels; expected key=\"value\" pairs separated by commas"),
        ("seconds_timestamp", f"DCGM_FI_DEV_GPU_UTIL{labels} 5 1763542830\n",
         "timestamp: '1763542830': out of range; expected Unix time in milliseconds (13 digits, such as "
         "1763542800000)"),
        ("garbage", "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"}\n",
         "line: 'DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"}': not a Prometheus sample line (NAME{LABELS} VALUE [TIMESTAMP])"),
    ]


@pytest.mark.parametrize(("name", "line", "expected"), dcgm_bad_cases(), ids=[case[0] for case in dcgm_bad_cases()])
def test_dcgm_bad_line(engine: sa.Engine, tmp_path: Path, name: str, line: str, expected: str) -> None:
    good = 'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1111",Hostname="n"} 5 1763542800000\n'
    path = write(tmp_path / f"{name}.prom", "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n" + good + line)
    assert failure(engine, path, time="2026-11-19T00:00:00Z") == [f"{path}:3: {expected}"]
    assert stored(engine) == []


def test_dcgm_counter_list_not_detected(engine: sa.Engine) -> None:
    # The exporter's counter list is configuration, not metrics; detection passes it by.
    path = GPU / "dcgm_exporter_default-counters.csv"
    [error] = failure(engine, path)
    assert "\n" not in error
    assert error.startswith(f"{path}:1: format: '# Format': format not recognised: not a usage, cost or GPU export")
    assert error.endswith("pass --format with one of: anthropic_costs, anthropic_usage, dcgm, focus, litellm_csv, "
                          "litellm_json, nvidia_smi, openai_costs, openai_usage, outcomes_csv, tools_csv")


def test_dcgm_counter_list_forced(engine: sa.Engine) -> None:
    # With --format dcgm the counter list fails on its first entry, not once per line.
    path = GPU / "dcgm_exporter_default-counters.csv"
    assert failure(engine, path, format_name="dcgm") == [
        f"{path}:6: file: 'DCGM_FI_DEV_SM_CLOCK,  gauge, SM clock frequency (in MHz).': this is a "
        "dcgm-exporter counter list (the metrics to export), not metrics; import a scrape of the "
        "exporter's /metrics endpoint instead"
    ]
    assert stored(engine) == []


def test_nounits_format(engine: sa.Engine, tmp_path: Path) -> None:
    # --format=csv,nounits keeps the units in the header and drops them from the values.
    text = "timestamp, utilization.gpu [%], memory.used [MiB]\n2026/11/19 10:00:00.000, 88, 2048\n"
    run_import(engine, write(tmp_path / "nounits.csv", text), host="gpu-x", host_tz="UTC")
    [row] = stored(engine)
    assert (row.utilization_pct, row.memory_used_mib) == (88.0, 2048.0)


def test_dcgm_profiling_metrics_only(engine: sa.Engine, tmp_path: Path) -> None:
    labels = '{gpu="0",UUID="GPU-1111",modelName="NVIDIA L4",Hostname="n1"}'
    text = (
        f"DCGM_FI_PROF_GR_ENGINE_ACTIVE{labels} 0.425 1763542800000\n"
        f"DCGM_FI_DEV_POWER_USAGE{labels} NaN 1763542800000\n"
    )
    run_import(engine, write(tmp_path / "prof.prom", text), interval_seconds=15)
    [row] = stored(engine)
    # No DCGM_FI_DEV_GPU_UTIL: engine activity 0.425 x 100 = 42.5 %; NaN power is unknown.
    assert (row.utilization_pct, row.power_w, row.gpu_model, row.interval_seconds) == (42.5, None, "L4", 15)


def test_cli_gpu_options(engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    from typer.testing import CliRunner

    from bot import settings as settings_module
    from bot.cli import app

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COSTBOT_MAPPING_FILE", str(Path(__file__).parent / "fixtures" / "mapping.yml"))
    settings_module.get_settings.cache_clear()
    path = GPU / "nvidia_smi_util_power.csv"
    try:
        result = CliRunner().invoke(
            app, ["import", str(path), "--host", "a100-01", "--time", "2024-09-08T12:00:00Z"]
        )
        bad = CliRunner().invoke(app, ["import", str(path), "--host", "a100-01", "--time", "noon"])
    finally:
        settings_module.get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{path}: nvidia_smi: read 1 row, imported 1, duplicate 0, rejected 0"]
    assert result.stderr.splitlines() == [
        f"warning: {path}: 1 sample(s) had no following sample of the same GPU; each counts as 60 s; "
        "pass --interval-seconds to set it"
    ]
    [row] = stored(engine)
    assert (row.host, row.sampled_at, row.hourly_rate_usd) == ("a100-01", datetime(2024, 9, 8, 12, tzinfo=UTC), D("3.43"))

    assert bad.exit_code == 1
    first, *rest = bad.stderr.splitlines()
    assert first == f"{path}: --time: 'noon': unknown time format; expected RFC 3339 such as 2026-11-19T14:00:00Z"
    assert rest[-1].startswith(f"{path}: nothing imported")
