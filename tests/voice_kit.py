"""A phone line for tests: residents call, and the test reads what they would hear.

Each step posts a webhook as Twilio would (signed with Twilio's own RequestValidator) to the
URL the last TwiML named, and parses the TwiML answer into lines heard and the next action:
a <Gather>'s action (keys or speech go there), else a <Redirect>, else the call is over.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from werkzeug.test import TestResponse

from channels import twilio_voice
from storage import calls
from storage.db import transaction
from storage.models import VoiceCall
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID
from tests.sms_kit import AGENCY_NUMBER, SmsLine

_calls = itertools.count(1)


@dataclass(frozen=True)
class Heard:
    """One <Say>: the words, and the voice and language Twilio would read them in."""

    text: str
    voice: str
    language: str


@dataclass
class Twiml:
    """A webhook's answer, read as a caller experiences it."""

    xml: str
    heard: list[Heard] = field(default_factory=list)
    gather: dict[str, str] | None = None  # the <Gather> attributes, when it waits for input
    redirect: str | None = None
    hangup: bool = False
    recording: dict[str, str] | None = None  # <Start><Recording> attributes

    @classmethod
    def parse(cls, xml: str) -> Twiml:
        root = ET.fromstring(xml)
        assert root.tag == "Response", xml
        answer = cls(xml)
        for verb in root:
            if verb.tag == "Say":
                answer.heard.append(_heard(verb))
            elif verb.tag == "Gather":
                answer.gather = dict(verb.attrib)
                answer.heard.extend(_heard(say) for say in verb if say.tag == "Say")
            elif verb.tag == "Redirect":
                answer.redirect = verb.text or ""
            elif verb.tag == "Hangup":
                answer.hangup = True
            elif verb.tag == "Start":
                recording = verb.find("Recording")
                if recording is not None:
                    answer.recording = dict(recording.attrib)
        return answer

    @property
    def words(self) -> list[str]:
        return [h.text for h in self.heard]

    @property
    def said(self) -> str:
        return " ".join(self.words)


def _heard(say: ET.Element) -> Heard:
    return Heard(say.text or "", say.get("voice", ""), say.get("language", ""))


class Call:
    """One call in progress: the caller presses keys or speaks, and hears the answers."""

    def __init__(
        self, line: SmsLine, number: str, sid: str | None = None, placed: bool = False
    ) -> None:
        self.line = line
        self.number = number
        self.sid = sid or f"CA{next(_calls):032x}"
        self.placed = placed  # a call the line placed to the resident (To is the resident)
        self.last: Twiml | None = None
        self.transcript: list[tuple[str, Twiml]] = []  # (what the caller did, the answer)

    @classmethod
    def answered(cls, line: SmsLine, number: str, sid: str, twiml: str) -> Call:
        """A call the line placed, picked up by the resident: they hear its TwiML first."""
        call = cls(line, number, sid, placed=True)
        call.last = Twiml.parse(twiml)
        call.transcript.append(("(picks up)", call.last))
        return call

    def _post(self, action: str, form: dict[str, str], did: str) -> Twiml:
        ours, resident = (AGENCY_NUMBER, self.number)
        full = {
            "CallSid": self.sid,
            "AccountSid": DEFAULT_ACCOUNT_SID,
            "From": ours if self.placed else resident,
            "To": resident if self.placed else ours,
            "Direction": "outbound-api" if self.placed else "inbound",
            "CallStatus": "in-progress",
            **form,
        }
        parts = urlsplit(action)  # calls we place name absolute URLs (PUBLIC_URL)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.line.post(path, full)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        self.last = Twiml.parse(response.get_data(as_text=True))
        self.transcript.append((did, self.last))
        return self.last

    def ring(self) -> Twiml:
        """The call connects: Twilio asks the line what to say."""
        return self._post(twilio_voice.INCOMING_PATH, {"CallStatus": "ringing"}, "(calls)")

    def _action(self) -> str:
        assert self.last is not None
        assert self.last.gather is not None, "nothing is listening"
        return self.last.gather["action"]

    def press(self, digits: str) -> Twiml:
        """Keys pressed while a <Gather> listens."""
        return self._post(self._action(), {"Digits": digits}, f"(presses {digits})")

    def speak(self, words: str, confidence: str = "0.92") -> Twiml:
        """Words spoken while a <Gather> listens, as Twilio's speech recognition heard them."""
        return self._post(
            self._action(), {"SpeechResult": words, "Confidence": confidence}, f'(says "{words}")'
        )

    def silence(self) -> Twiml:
        """Nothing said or pressed: the <Gather> ends empty and posts to its action anyway."""
        return self._post(self._action(), {}, "(says nothing)")

    def hang_up(self, seconds: int = 40, recording_sid: str | None = None) -> str | None:
        """The caller hangs up; Twilio then posts the recording of their side, if any."""
        if recording_sid is None:
            return None
        form = {
            "CallSid": self.sid,
            "AccountSid": DEFAULT_ACCOUNT_SID,
            "RecordingSid": recording_sid,
            "RecordingUrl": (
                f"https://api.twilio.com/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}"
                f"/Recordings/{recording_sid}"
            ),
            "RecordingDuration": str(seconds),
            "RecordingStatus": "completed",
            "RecordingChannels": "1",
            "RecordingSource": "StartCallRecording",
        }
        response: TestResponse = self.line.post(twilio_voice.RECORDING_PATH, form)
        assert response.status_code == 200
        return recording_sid

    def row(self) -> VoiceCall:
        with transaction(self.line.rt.db) as session:
            found = calls.by_sid(session, self.sid)
            assert found is not None
            return found

    def told(self) -> str:
        """The whole call as a script: what the caller did, then what they heard."""
        lines: list[str] = []
        for did, answer in self.transcript:
            lines.append(did)
            lines.extend(f"  {h.text}" for h in answer.heard)
        return "\n".join(lines)
