// The simulator page: send lines as a resident would, poll for what the outbox delivered.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const thread = document.getElementById("thread");
  const text = document.getElementById("text");
  let address = localStorage.getItem("townline-sim-address");
  if (!address) { address = newAddress(); }
  let after = 0;
  document.getElementById("address").textContent = address;

  function newAddress() {
    const a = "sim-" + Math.random().toString(36).slice(2, 10);
    localStorage.setItem("townline-sim-address", a);
    return a;
  }
  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
  }
  function bubble(direction, body, choices) {
    const li = document.createElement("li");
    li.className = direction;
    li.dir = "auto"; // Arabic reads right to left, each message by its own first letters
    li.textContent = body;
    if (choices && choices.length) {
      const row = document.createElement("div");
      row.className = "choices";
      choices.forEach(function (c) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = c.label === c.key ? c.key : c.key + " " + c.label;
        b.addEventListener("click", function () { say(c.key, c.value); });
        row.appendChild(b);
      });
      li.appendChild(row);
    }
    thread.appendChild(li);
    thread.scrollTop = thread.scrollHeight;
  }
  function say(body, choice) {
    bubble("in", body);
    return post("/simulator/send", { address: address, text: body, choice: choice || null });
  }
  async function poll() {
    try {
      const r = await post("/simulator/messages", { address: address, after: after });
      if (r.ok) {
        const data = await r.json();
        data.messages.forEach(function (m) { after = Math.max(after, m.id); bubble("out", m.text, m.choices); });
      }
    } finally {
      setTimeout(poll, 700);
    }
  }
  document.getElementById("composer").addEventListener("submit", function (e) {
    e.preventDefault();
    const body = text.value;
    text.value = "";
    say(body, null);
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("composer").requestSubmit(); }
  });
  document.getElementById("new-resident").addEventListener("click", function () {
    address = newAddress(); after = 0; thread.innerHTML = "";
    document.getElementById("address").textContent = address;
  });
  poll();
})();
