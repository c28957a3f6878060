import subprocess
import sys


def test_core_imports_no_framework():
    code = (
        "import sys, broadcaster, broadcaster.enqueue, broadcaster.store;"
        "bad = [m for m in ('celery', 'fastapi', 'starlette', 'uvicorn', 'broadcaster.web',"
        " 'broadcaster.sandbox', 'workers') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
