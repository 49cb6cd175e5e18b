"""`cppcc-bot run` as a real process against the fake Bot API server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.fakeapi import FakeTelegramServer


def _env(tg: FakeTelegramServer | None, tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CPPCC_"))}
    env.update({"CPPCC_DB": str(tmp_path / "bot.db"), "NO_PROXY": "127.0.0.1,localhost"})
    if tg is not None:
        env.update({"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url})
    env.update(extra)
    return env


def _run(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_run_answers_and_never_logs_the_token(tmp_path):
    with FakeTelegramServer(bot_username="cppcc_helper_bot") as tg:
        process = _run(_env(tg, tmp_path))
        try:
            tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=20)
            tg.inject_message(51, "委员活动的钱谁出")
            tg.fail_next("sendMessage", status=400, description="Bad Request: boom", chat_id=52)  # an error gets logged
            tg.inject_message(52, "第33条")
            tg.wait_for_sync(lambda: tg.sent_messages(51) and len(tg.sent_messages(52)) >= 1, timeout=20)
            assert "（45）" in tg.sent_messages(51)[0].plain_text
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0
        assert tg.token not in stderr
        assert tg.token.split(":")[1] not in stderr
        assert "error while handling update" in stderr
        assert (tmp_path / "bot.db").exists()


def test_rejected_token_exits_with_one_line(tmp_path):
    with FakeTelegramServer() as tg:
        env = _env(tg, tmp_path, TELEGRAM_BOT_TOKEN="999:not-the-right-token")
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "错误：Telegram 拒绝了 TELEGRAM_BOT_TOKEN（令牌无效或已被撤销）"
    assert "Traceback" not in result.stderr
    assert "not-the-right-token" not in result.stderr
    assert time.monotonic() - started < 30


def test_missing_token_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], env=_env(None, tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "缺少 TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_broken_knowledge_file_stops_start_up_with_one_line(tmp_path):
    import json
    import shutil

    from bot.config import knowledge_dir

    knowledge = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), knowledge)
    rules = json.loads((knowledge / "reminders.json").read_text(encoding="utf-8"))
    rules["rules"][0]["kind"] = "no_such_kind"
    (knowledge / "reminders.json").write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    env = _env(None, tmp_path, TELEGRAM_BOT_TOKEN="1:x", CPPCC_KNOWLEDGE=str(knowledge))
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("错误：") and "reminders.json" in last


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_mode_checks_the_secret_and_answers(tmp_path):
    import json
    import urllib.error
    import urllib.request

    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    with FakeTelegramServer(bot_username="cppcc_helper_bot") as tg:
        env = _env(tg, tmp_path, CPPCC_WEBHOOK_SECRET="s3cret-value")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--webhook-url",
                url,
                "--listen",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            hook = tg.wait_for_sync(lambda: tg.requests("setWebhook"), timeout=20)[0]
            assert hook.params["url"] == url and hook.params["secret_token"] == "s3cret-value"
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 61, "type": "private"},
                    "from": {"id": 61, "is_bot": False, "first_name": "委员"},
                    "text": "委员活动的钱谁出",
                },
            }

            def post(secret: str) -> int:
                request = urllib.request.Request(
                    url,
                    data=json.dumps(update, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
                )
                deadline = time.monotonic() + 20
                while True:
                    try:
                        with urllib.request.urlopen(request, timeout=5) as response:
                            return response.status
                    except urllib.error.HTTPError as exc:
                        return exc.code
                    except OSError:  # the listener is not up yet
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)

            assert post("wrong") == 403
            assert post("s3cret-value") == 200
            reply = tg.wait_for_sync(lambda: tg.sent_messages(61), timeout=20)[0]
            assert "（45）" in reply.plain_text
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=20)
        assert "s3cret-value" not in stderr and tg.token not in stderr
