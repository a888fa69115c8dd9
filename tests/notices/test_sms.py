import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.core import checks

from notices import sms


class FakeProvider:
    """A Twilio-shaped SMS API on 127.0.0.1 that records what it receives."""

    def __init__(self, status=201):
        self.status = status
        self.requests = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                provider.requests.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "form": {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()},
                    }
                )
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(
                    b'{"sid": "SM123"}' if provider.status < 300 else b'{"message": "invalid To"}'
                )

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/2010-04-01/Accounts/AC1/Messages.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings):
    fake = FakeProvider()
    settings.SMS_BACKEND = "notices.sms.HTTPBackend"
    settings.SMS_API_URL = fake.url
    settings.SMS_API_USER = "AC1"
    settings.SMS_API_TOKEN = "secret-token"
    settings.SMS_SENDER = "MonacoData"
    yield fake
    fake.close()


def test_the_http_backend_posts_the_message_to_the_provider(provider):
    sms.send_sms("+377612345678", "Your code is 123456")

    [request] = provider.requests
    assert request["path"] == "/2010-04-01/Accounts/AC1/Messages.json"
    assert request["form"] == {"To": "+377612345678", "From": "MonacoData", "Body": "Your code is 123456"}
    assert request["authorization"] == "Basic " + base64.b64encode(b"AC1:secret-token").decode()


def test_the_http_backend_raises_a_clear_error_when_the_provider_refuses(provider):
    provider.status = 400

    with pytest.raises(sms.SMSError, match=r"HTTP 400 .*invalid To"):
        sms.send_sms("+377612345678", "hello")


def test_the_http_backend_raises_a_clear_error_when_the_provider_is_unreachable(provider, settings):
    provider.close()
    settings.SMS_API_URL = provider.url

    with pytest.raises(sms.SMSError, match="unreachable"):
        sms.send_sms("+377612345678", "hello")


def test_the_http_backend_needs_a_url(settings):
    settings.SMS_BACKEND = "notices.sms.HTTPBackend"
    settings.SMS_API_URL = ""

    with pytest.raises(sms.SMSError, match="SMS_API_URL"):
        sms.send_sms("+377612345678", "hello")


def test_the_console_backend_prints_and_files_each_message(settings, tmp_path, capsys):
    settings.SMS_BACKEND = "notices.sms.ConsoleFileBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"

    sms.send_sms("+377612345678", "Your code is 654321")

    [saved] = list((tmp_path / "sms").glob("*.txt"))
    assert "Your code is 654321" in saved.read_text()
    assert "+377612345678" in saved.read_text()
    assert "Your code is 654321" in capsys.readouterr().out


def test_the_memory_backend_keeps_messages_for_tests(sms_outbox):
    sms.send_sms("+377612345678", "hello")

    assert [(m.to, m.body) for m in sms_outbox] == [("+377612345678", "hello")]


def test_a_backend_named_by_its_old_accounts_path_still_sends_and_a_check_asks_to_rename_it(
    provider, settings
):
    settings.SMS_BACKEND = "accounts.sms.HTTPBackend"

    sms.send_sms("+377612345678", "hello")

    assert [request["form"]["Body"] for request in provider.requests] == ["hello"]
    warnings = [message for message in checks.run_checks() if message.id == "notices.W001"]
    assert [warning.hint for warning in warnings] == ["Set SMS_BACKEND=notices.sms.HTTPBackend."]


def test_the_current_backend_path_raises_no_warning(settings):
    settings.SMS_BACKEND = "notices.sms.MemoryBackend"

    assert not [message for message in checks.run_checks() if message.id.startswith("notices.")]
