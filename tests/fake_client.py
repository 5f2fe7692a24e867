"""A scripted stand-in for ``Client``: records each request and answers from a script.

For unit tests of what the ORM sends where the sandbox is not the point (it never opens a
socket).  Answers are matched by (method, path prefix); the last match wins.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode


class FakeClient:
    account_id = "AbC12"
    base_url = "https://api.example.test"

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers = dict(answers or {})
        self.calls: list[tuple[str, str, list[tuple[str, str]], Any]] = []

    def url(self, path: str, params: Any = None) -> str:
        return self.base_url + path + ("?" + urlencode(list(params)) if params else "")

    def request(
        self, method: str, path: str, params: Any = None, json: Any = None, *, expect: Any = None
    ) -> Any:
        body = self.answer(method, path, params, json)
        return body if expect is None else expect(body)  # as Client.request reads the answer

    def answer(self, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        self.calls.append((method, path, list(params or ()), json))
        answer: Any = {"response": {}}
        for (m, prefix), body in self.answers.items():
            if m == method and path.endswith(prefix):
                answer = body
        return answer(method, path, params, json) if callable(answer) else answer
