#!/usr/bin/python3
"""The retailer's web console in a real browser (headless chromium through chromedriver), against
the real programs: ads-server, dtd-agent --console-listen, ste-firmware with a keypad script, card-sim
for the retailer card and the customers' cards, inside tests/tools/pcsc-sandbox (private pcscd, vpcd
and network namespace).

Usage: console_test.py WholeFlow | Refusals | Access
The programs come from the environment (tests/browser/CMakeLists.txt): CARDPERSO_ADS_SERVER,
CARDPERSO_DTD_AGENT, CARDPERSO_STE_FIRMWARE, CARDPERSO_ADSCTL, CARDPERSO_MKCARDS, CARDPERSO_CARD_SIM,
CARDPERSO_SIMREAD, CARDPERSO_APDU, CARDPERSO_SOURCE_DIR; screenshots go to
CARDPERSO_SCREENSHOT_DIR/<case>/. Exit 0 when every check holds, 1 otherwise.
"""
import base64
import datetime
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support.ui import WebDriverWait

RETAILER_PIN = "2468"
CUSTOMER_PIN = "1357"
CUSTOMER_PUK = "11223344"
# Per card the terminal asks: OK on its check screen, the new PIN twice, the PUK.
CARD_KEYS = ["ok", CUSTOMER_PIN, CUSTOMER_PIN, CUSTOMER_PUK]


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)
    print(f"ok: {what}", flush=True)


def env(name):
    value = os.environ.get(name)
    if not value:
        raise CheckFailed(f"environment variable {name} is not set (run through ctest)")
    return value


def wait_for(predicate, seconds, what, interval=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise CheckFailed(f"timed out after {seconds} s waiting for {what}")


# --- processes ---------------------------------------------------------------------------------

class Process:
    """A program whose stdout lines are collected by a thread, so a test can wait for one."""

    def __init__(self, name, args, workdir, stdin=False):
        self.name = name
        self.lines = []
        self._cond = threading.Condition()
        self.out_path = os.path.join(workdir, f"{name}.out")
        self._out = open(self.out_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     text=True, bufsize=1, cwd=workdir)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._out.write(line)
            self._out.flush()
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, regex, seconds, start=0):
        """The first line from index `start` on matching regex (a match object)."""
        pattern = re.compile(regex)
        deadline = time.monotonic() + seconds
        exited_at = None
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    m = pattern.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self.proc.poll() is not None:
                    exited_at = exited_at or time.monotonic()
                    if time.monotonic() - exited_at > 1:  # its last lines have been read by now
                        break
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        raise CheckFailed(f"{self.name}: no line matching /{regex}/ within {seconds} s; output:\n" +
                          "\n".join(self.lines[-30:]))

    def count(self, regex):
        pattern = re.compile(regex)
        with self._cond:
            return sum(1 for line in self.lines if pattern.search(line))

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class CardSim(Process):
    def __init__(self, image, workdir, name, extra=()):
        super().__init__(name, [env("CARDPERSO_CARD_SIM"), "--image", image, *extra], workdir, stdin=True)
        self.wait_line(r"^inserted", 15)

    def remove(self):
        n = self.count(r"^removed")
        self.send("remove")
        wait_for(lambda: self.count(r"^removed") > n, 10, f"{self.name} removed")

    def insert(self):
        n = self.count(r"^inserted")
        self.send("insert")
        wait_for(lambda: self.count(r"^inserted") > n, 10, f"{self.name} inserted")

    def quit(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.stop()


class Shop:
    """The issuer's setup (scripts/demo-setup.sh) and the shop's programs."""

    def __init__(self, case):
        self.work = tempfile.mkdtemp(prefix=f"cardperso-console-{case}.")
        self.processes = []
        self.customer_card = None
        self.setup = {}

    def run_setup(self, cards):
        environment = dict(os.environ, ADSCTL=env("CARDPERSO_ADSCTL"), MKCARDS=env("CARDPERSO_MKCARDS"),
                           STE=env("CARDPERSO_STE_FIRMWARE"), DTD=env("CARDPERSO_DTD_AGENT"),
                           DEMO_CARDS=str(cards))
        script = os.path.join(env("CARDPERSO_SOURCE_DIR"), "scripts", "demo-setup.sh")
        result = subprocess.run(["bash", script, self.work], env=environment, capture_output=True, text=True)
        if result.returncode != 0:
            raise CheckFailed(f"demo-setup.sh failed:\n{result.stdout}\n{result.stderr}")
        with open(os.path.join(self.work, "setup.env")) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key:
                    self.setup[key] = value
        check(os.path.exists(self.setup["RETAILER_CARD"]), "demo-setup.sh made the retailer card and wrote setup.env")

    def adsctl(self, *args):
        result = subprocess.run([env("CARDPERSO_ADSCTL"), *args, "--db", self.setup["ADS_DB"],
                                 "--master-key", self.setup["ADS_MASTER_KEY"]], capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    def start(self, process):
        self.processes.append(process)
        return process

    def write_policy(self, name, policy):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            json.dump(policy, f)
        return path

    def start_ads(self, policy=None):
        src = env("CARDPERSO_SOURCE_DIR")
        args = [env("CARDPERSO_ADS_SERVER"), "--profile", os.path.join(src, "profiles", "gsm-sim-default.json"),
                "--db", self.setup["ADS_DB"], "--master-key", self.setup["ADS_MASTER_KEY"],
                "--listen", "127.0.0.1:0", "--log-file", os.path.join(self.work, "ads.log")]
        if policy:
            args += ["--policy", policy]
        ads = self.start(Process("ads-server", args, self.work))
        self.ads_port = int(ads.wait_line(r"^listening on .*:(\d+)", 15).group(1))
        return ads

    def start_dtd(self, ads_port=None, policy=None):
        args = [env("CARDPERSO_DTD_AGENT"), "--ads", f"127.0.0.1:{ads_port or self.ads_port}",
                "--ste-listen", "127.0.0.1:0", "--dtd-id", "browser-test", "--pairing-file", self.setup["DTD_PAIRING"],
                "--console-listen", "127.0.0.1:0", "--receipt-dir", os.path.join(self.work, "receipts"),
                "--log-file", os.path.join(self.work, "dtd.log")]
        if policy:
            args += ["--policy", policy]
        self.dtd = self.start(Process("dtd-agent", args, self.work))
        m = self.dtd.wait_line(r"^console on (http://([0-9.]+):(\d+)/\?token=([0-9a-f]+))$", 15)
        self.console_url, self.console_host, self.console_port, self.token = \
            m.group(1), m.group(2), int(m.group(3)), m.group(4)
        self.ste_port = int(self.dtd.wait_line(r"^ste link on .*:(\d+)", 15).group(1))
        check(self.token not in open(os.path.join(self.work, "dtd.log")).read(),
              "the console token is on stdout only, not in dtd-agent's log")
        return self.dtd

    def start_terminal(self, cards, extra_keys=()):
        """The retailer card in the reader, then the terminal with the keypad script for `cards` new
        cards, then `extra_keys` (a modification: OK and the PIN once)."""
        self.retailer = self.start(CardSim(self.setup["RETAILER_CARD"], self.work, "retailer-card"))
        keypad = os.path.join(self.work, "keypad")
        with open(keypad, "w") as f:
            f.write("\n".join([RETAILER_PIN] + CARD_KEYS * cards + list(extra_keys)) + "\n")
        self.ste = self.start(Process("ste-firmware", [
            env("CARDPERSO_STE_FIRMWARE"), "--dtd", f"127.0.0.1:{self.ste_port}",
            "--pairing-file", self.setup["STE_PAIRING"], "--device-key", self.setup["STE_DEVICE_KEY"],
            "--keypad-script", f"file:{keypad}", "--log-file", os.path.join(self.work, "ste.log")], self.work))
        # The clerk takes the retailer card out when the terminal asks, and each customer's card.
        self._stop_clerk = False
        threading.Thread(target=self._clerk, daemon=True).start()

    def _clerk(self):
        # A card is taken out on a "Remove ... card" the terminal shows after that card went in (the
        # terminal also says it when no card is there, before it asks for the next one).
        retailer_done = False
        while not self._stop_clerk and self.ste.proc.poll() is None:
            if not retailer_done and self.ste.count(r"Remove retailer card") > 0:
                retailer_done = True
                try:
                    self.retailer.remove()
                except (CheckFailed, BrokenPipeError):
                    pass
            card = self.customer_card
            if card is not None and not card.taken_out:
                with self.ste._cond:
                    later = self.ste.lines[card.since:]
                if any("Remove customer card" in line for line in later):
                    card.taken_out = True
                    try:
                        card.remove()
                    except (CheckFailed, BrokenPipeError):
                        pass
            time.sleep(0.1)

    def insert_customer_card(self, image, name, extra=()):
        if self.customer_card is not None:
            self.customer_card.quit()
        since = len(self.ste.lines)
        card = CardSim(image, self.work, name, extra)
        card.since, card.taken_out = since, False
        self.customer_card = self.start(card)
        return card

    def reinsert_customer_card(self):
        card = self.customer_card
        card.since, card.taken_out = len(self.ste.lines), False
        card.insert()
        return card

    def close(self, keep):
        self._stop_clerk = True
        for p in reversed(self.processes):
            if isinstance(p, CardSim):
                p.quit()
            else:
                p.stop()
        if keep:
            print(f"files kept in {self.work}", flush=True)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


# --- the browser -------------------------------------------------------------------------------

class Browser:
    def __init__(self, case):
        self.dir = os.path.join(env("CARDPERSO_SCREENSHOT_DIR"), case)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        self.profile = tempfile.mkdtemp(prefix="cardperso-chromium.")
        for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,800", "--no-first-run", "--disable-extensions",
                    f"--user-data-dir={self.profile}", "--lang=en-GB"]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(30)
        self.shots = 0

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def el(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, predicate, seconds, what):
        try:
            # The page re-renders lists on every update from the agent, so an element found a moment
            # ago may be gone: such a read is retried, not a failure.
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1,
                                 ignored_exceptions=[StaleElementReferenceException]).until(lambda d: predicate())
        except TimeoutException:
            self.screenshot(f"timeout-{re.sub(r'[^a-z0-9]+', '-', what.lower())[:40]}", checked=False)
            raise CheckFailed(f"timed out after {seconds} s waiting in the page for {what}")

    def screenshot(self, name, checked=True, at=None):
        """A PNG of the page, from its top (the links, the terminal, the current card) or with the
        element `at` in the middle of the window."""
        if at:
            self.js("arguments[0].scrollIntoView({block: 'center'})", self.el(at))
        else:
            self.js("window.scrollTo(0, 0)")
        self.shots += 1
        path = os.path.join(self.dir, f"{self.shots:02d}-{name}.png")
        self.driver.save_screenshot(path)
        if checked:
            check_not_blank(path)
        return path

    def text(self, element_id):
        return self.el(element_id).text

    def today_rows(self):
        """The texts of today's list, read in one script so that a re-render between finding a row
        and reading it cannot make the read stale."""
        return self.js("return Array.from(document.querySelectorAll('#today-body tr'), r => r.innerText)")

    def visible(self, element_id):
        return self.el(element_id).is_displayed()

    def open_console(self, shop):
        self.driver.get(shop.console_url)
        # The token URL sets the cookie and redirects to / (the token leaves the address bar).
        self.wait(lambda: urllib.parse.urlparse(self.driver.current_url).path == "/" and
                  "token" not in self.driver.current_url, 10, "the redirect to /")
        self.wait(lambda: self.js("return document.body.classList.contains('online')"), 10, "the WebSocket to open")
        self.record_prompts()

    def record_prompts(self):
        # Every change of the terminal mirror (prompt code, progress value) in window.seenPrompts:
        # the prompts can change faster than a test polls. (WebDriver's scripts are not bound by the
        # page's CSP; the page itself runs no inline script.)
        self.js("""
          window.seenPrompts = [];
          const note = () => {
            const t = document.getElementById('terminal'), p = document.getElementById('writing-progress');
            const code = t.dataset.code || '';
            const last = window.seenPrompts[window.seenPrompts.length - 1];
            const entry = {code: code, value: code === 'writing' ? Number(p.value) : null,
                           max: code === 'writing' ? Number(p.max) : null,
                           text: document.getElementById('prompt-text').textContent,
                           step: document.getElementById('writing-step').textContent};
            if (!last || last.code !== entry.code || last.value !== entry.value) window.seenPrompts.push(entry);
          };
          note();
          new MutationObserver(note).observe(document.getElementById('terminal'),
              {attributes: true, childList: true, subtree: true, characterData: true});""")

    def seen_prompts(self):
        return self.js("return window.seenPrompts || []")

    def link_state(self, name):
        return self.el(f"link-{name}").get_attribute("data-state")

    def wait_links(self, ads, terminal, retailer, seconds=30):
        self.wait(lambda: (self.link_state("ads"), self.link_state("terminal"), self.link_state("retailer")) ==
                  (ads, terminal, retailer), seconds, f"links ads={ads} terminal={terminal} retailer={retailer}")

    def prompt_code(self):
        return self.el("terminal").get_attribute("data-code")

    def fill_new(self, customer):
        for field in ["name", "date_of_birth", "address", "id_document", "id_number", "email"]:
            box = self.el(field)
            box.clear()
            if customer.get(field):
                box.send_keys(customer[field])

    def no_horizontal_scroll(self):
        return self.js("return document.documentElement.scrollWidth <= window.innerWidth")

    def csp_violations(self):
        return [e["message"] for e in self.driver.get_log("browser")
                if "Content Security Policy" in e.get("message", "") or "Refused to" in e.get("message", "")]


def check_not_blank(path):
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        pixels = rgb.width * rgb.height
        colours = rgb.getcolors(maxcolors=pixels)
    top = max(count for count, _ in colours)
    check(len(colours) > 1 and top < 0.95 * pixels,
          f"screenshot {os.path.basename(path)} is not blank ({len(colours)} colours, the commonest "
          f"{100 * top // pixels} % of the pixels)")


def years_ago(years, days=0):
    today = datetime.date.today()
    try:
        d = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        d = today.replace(year=today.year - years, day=28)
    return (d - datetime.timedelta(days=days)).isoformat()


ADA = {"name": "Ada Lovelace", "date_of_birth": "1990-12-10", "address": "12 St James's Square, London",
       "id_document": "passport", "id_number": "P1234567", "email": "ada@example.org"}


def expect_prompt(b, shop, code, terminal_line, seconds=60, start=0):
    """The terminal shows `terminal_line` (its own display, on its stdout); the page mirrors `code`."""
    shop.ste.wait_line(terminal_line, seconds, start)
    b.wait(lambda: code in [p["code"] for p in b.seen_prompts()], 10, f"the prompt {code}")


def wait_outcome(b, result, seconds=90):
    b.wait(lambda: b.el("outcome").get_attribute("data-result") == result and b.visible("outcome"),
           seconds, f"the outcome '{result}'")


# --- the cases ---------------------------------------------------------------------------------

def whole_flow(shop, b):
    shop.run_setup(cards=2)
    shop.start_ads()
    shop.start_dtd()
    shop.start_terminal(cards=1, extra_keys=["ok", CUSTOMER_PIN])
    b.open_console(shop)
    b.wait_links("up", "up", "signed_on")
    check(True, "the page shows the issuer's server and the terminal connected and the retailer signed on")
    b.screenshot("signed-on")
    check("No PIN here" in b.text("pin-note") and "never sees a PIN" in b.text("pin-note"),
          "the form says where the PIN is typed instead")
    check(not b.driver.find_elements(By.CSS_SELECTOR, "input[type=password]"), "the page has no PIN field")
    check(b.csp_violations() == [], "the page runs under the CSP without a violation (no inline script or style)")
    unlabelled = b.js("return [...document.querySelectorAll('input, textarea, select')]"
                      ".filter(e => e.labels.length === 0).map(e => e.id)")
    check(unlabelled == [], f"every field has a label ({unlabelled})")
    landmarks = b.js("return ['header', 'nav', 'main', 'footer'].filter(t => document.querySelector(t))")
    check(landmarks == ["header", "nav", "main", "footer"], "the page has its landmarks")
    headless = b.js("return [...document.querySelectorAll('section')].filter(s => !s.querySelector('h2')).map(s => s.id)")
    check(headless == [], f"every section has a heading ({headless})")
    check(b.el("links").get_attribute("aria-live") == "polite", "the link state is a polite live region")
    outline = b.js("const e = document.getElementById('name'); e.focus();"
                   "return getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth")
    check(outline.startswith("solid") and not outline.endswith(" 0px"), f"the focus is visible ({outline})")

    # Keyboard only: the name field takes the focus, then TAB from field to field and ENTER to send.
    b.js("document.getElementById('name').focus()")
    keys = ActionChains(b.driver)
    order = []
    for field in ["name", "date_of_birth", "address", "id_document", "id_number", "email"]:
        keys.send_keys(ADA[field]).perform()
        order.append(b.js("return document.activeElement.id"))
        keys = ActionChains(b.driver)
        if field != "email":
            keys.send_keys(Keys.TAB).perform()
            keys = ActionChains(b.driver)
    check(order == ["name", "date_of_birth", "address", "id_document", "id_number", "email"],
          f"TAB moves through the form in reading order ({order})")
    b.screenshot("form-filled", at="id_document")
    ActionChains(b.driver).send_keys(Keys.ENTER).perform()
    b.wait(lambda: "Sent (request" in b.text("new-status"), 15, "the shop PC to accept the request")
    check(True, "ENTER sent the form and the shop PC accepted it")

    expect_prompt(b, shop, "insert_customer_card", r"Insert customer card")
    check(b.text("prompt-text") == "Insert the customer's card in the terminal", "the page mirrors insert_customer_card")
    b.wait(lambda: b.text("decision-verdict") == "go", 10, "the issuer's go")
    check(True, "the page shows the issuer's go")
    b.screenshot("insert-card")

    iccid = shop.setup["FIRST_ICCID"]
    # Slow APDUs so that the writing is long enough to be seen and photographed.
    shop.insert_customer_card(os.path.join(shop.setup["STOCK_DIR"], f"{iccid}.json"), "customer-card",
                              ["--apdu-delay-ms", "40"])
    expect_prompt(b, shop, "writing", r"Personalising card")
    b.screenshot("writing")
    wait_outcome(b, "personalised")
    seen = b.seen_prompts()
    codes = [p["code"] for p in seen]
    check(all(c in codes for c in ["insert_customer_card", "confirm_on_terminal", "writing"]),
          f"the page showed insert_customer_card, confirm_on_terminal and writing ({codes})")
    confirm = next(p for p in seen if p["code"] == "confirm_on_terminal")
    check(confirm["text"].startswith("Check the name, ID and card on the terminal's screen"),
          "confirm_on_terminal reads as an instruction to the clerk")
    writing = [p for p in seen if p["code"] == "writing" and p["max"]]
    check(writing and any(0 < p["value"] <= p["max"] for p in writing) and
          re.fullmatch(r"step \d+ of \d+", writing[-1]["step"]),
          f"the progress bar moved while writing ({[(p['value'], p['max']) for p in writing][:5]}...)")

    msisdn = b.text("outcome-msisdn")
    check(re.fullmatch(r"\d{8,15}", msisdn) is not None, f"the outcome shows the new MSISDN {msisdn}")
    check(b.text("outcome-iccid") == iccid, "the outcome names the card")
    size = float(b.js("return parseFloat(getComputedStyle(document.getElementById('outcome-msisdn')).fontSize)"))
    check(size >= 28, f"the MSISDN is in large type ({size}px)")
    b.screenshot("personalised")

    def first_row_shows_card():
        rows = b.today_rows()
        return rows and all(s in rows[0] for s in ["Ada Lovelace", msisdn, "Personalised"])
    b.wait(first_row_shows_card, 10, "today's list")
    check(first_row_shows_card(), f"today's list shows the card ({b.today_rows()[0]!r})")

    b.driver.set_window_size(1024, 768)
    time.sleep(0.5)
    b.screenshot("personalised-1024")
    check(b.no_horizontal_scroll(), "no horizontal scrolling at 1024 px wide")
    stacked = b.js("return document.getElementById('new-customer').getBoundingClientRect().left === "
                   "document.getElementById('terminal').getBoundingClientRect().left")
    check(stacked, "the two columns stack below 1100 px")
    b.driver.set_window_size(1280, 800)
    check(b.no_horizontal_scroll(), "no horizontal scrolling at 1280 px wide")

    receipt = b.el("outcome-receipt").get_attribute("href")
    check(urllib.parse.urlparse(receipt).path == "/receipt" and "id=" in receipt, f"the receipt link ({receipt})")
    b.driver.get(receipt)
    body = b.driver.find_element(By.TAG_NAME, "body").text
    check(iccid in body and msisdn in body, "the receipt page names the ICCID and the MSISDN")
    check("1357" not in body and CUSTOMER_PUK not in body, "the receipt holds no PIN or PUK")
    b.screenshot("receipt")
    # Printed on A6, the receipt takes one page.
    options = PrintOptions()
    options.page_width, options.page_height = 10.5, 14.8
    pdf = base64.b64decode(b.driver.print_page(options))
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    check(pages == 1, f"the receipt prints on one A6 page ({pages} pages)")
    b.driver.back()
    b.wait(lambda: b.js("return document.body.classList.contains('online')"), 10, "the console again")
    b.record_prompts()

    # The same card modified through the second form: a new SPN and PLMN list.
    b.wait(lambda: shop.customer_card.taken_out, 30, "the terminal to ask for the card back")
    asked = len(shop.ste.lines)
    b.el("iccid").send_keys(iccid)
    b.el("spn").send_keys("NEW-NET")
    b.el("plmnsel").send_keys("001/01, 295/10")
    b.el("plmnsel").send_keys(Keys.ENTER)
    b.wait(lambda: "Sent (request" in b.text("modify-status"), 15, "the modification to be accepted")
    expect_prompt(b, shop, "insert_customer_card", r"Insert customer card", 60, asked)
    shop.reinsert_customer_card()
    wait_outcome(b, "modified")
    check(b.text("request-label") != "" and iccid in b.text("outcome-iccid"), "the page shows the card modified")
    b.screenshot("modified")
    b.wait(lambda: len(b.today_rows()) == 2 and "Modified" in b.today_rows()[0], 10,
           "today's list to show the modification")
    check(len(b.today_rows()) == 2 and "Modified" in b.today_rows()[0],
          "today's list shows the modification above the new card")

    # The retailer is done: End session; the terminal ends and exits.
    b.wait(lambda: shop.customer_card.taken_out, 30, "the terminal to ask for the card back")
    b.el("end-session").send_keys(Keys.ENTER)
    try:
        shop.ste.proc.wait(30)
    except subprocess.TimeoutExpired:
        raise CheckFailed("ste-firmware did not end after End session")
    check(shop.ste.proc.returncode == 0, "End session ends the terminal's session (ste-firmware exit 0)")

    # The card read back through PC/SC with the customer's new PIN; the ADS's record agrees.
    shop.customer_card.insert()
    subprocess.run([env("CARDPERSO_APDU"), "--reader", "Virtual PCD 00 00", "--wait", "10"],
                   capture_output=True, timeout=30)
    pin_file = os.path.join(shop.work, "pin")
    with open(pin_file, "w") as f:
        f.write(CUSTOMER_PIN + "\n")
    read = subprocess.run([env("CARDPERSO_SIMREAD"), "--reader", "Virtual PCD 00 00", "--pin-file", pin_file],
                          capture_output=True, text=True, timeout=60)
    check(read.returncode == 0, f"cardperso-simread reads the card with the new PIN ({read.stderr.strip()})")
    fields = dict(re.findall(r"^(ICCID|IMSI|MSISDN|SPN)\s+(\S+)", read.stdout, re.M))
    check(fields.get("SPN") == '"NEW-NET"', f"the card holds the new SPN ({fields.get('SPN')})")
    rc, shown = shop.adsctl("card", "show", iccid)
    check(rc == 0 and re.search(r"^state\s+personalised", shown, re.M), "adsctl card show: personalised")
    check(re.search(r"^version 2 ", shown, re.M) is not None, "the ADS recorded the modification as version 2")
    recorded = re.search(r"imsi (\d+)\s+msisdn (\d+)", shown)
    check(recorded is not None and fields.get("ICCID") == iccid and fields.get("IMSI") == recorded.group(1) and
          fields.get("MSISDN") == recorded.group(2) == msisdn,
          f"the card holds the IMSI and MSISDN the ADS recorded and the page showed ({fields})")
    fields.pop("SPN", None)


def refusals(shop, b):
    shop.run_setup(cards=2)
    # The counter is laxer (18) than the issuer (21): the page accepts a 19-year-old, the ADS refuses.
    ads_policy = shop.write_policy("ads-policy.json", {"required_fields": ["name", "date_of_birth"], "min_age": 21,
                                                      "deny_list": []})
    dtd_policy = shop.write_policy("dtd-policy.json", {"required_fields": ["name", "date_of_birth"], "min_age": 18,
                                                      "deny_list": []})
    shop.start_ads(policy=ads_policy)
    shop.start_dtd(policy=dtd_policy)
    shop.start_terminal(cards=1)
    b.open_console(shop)
    b.wait_links("up", "up", "signed_on")

    # 1. Under the minimum age: the page refuses before anything is sent.
    _, audit_before = shop.adsctl("audit", "show", "--last", "1000")
    sent_before = b.js("return window.cardpersoSent = 0")
    b.js("""const ws = WebSocket.prototype.send;
            WebSocket.prototype.send = function (d) { window.cardpersoSent += 1; return ws.call(this, d); };""")
    b.fill_new(dict(ADA, name="Young Customer", date_of_birth=years_ago(17)))
    b.el("email").send_keys(Keys.ENTER)
    b.wait(lambda: b.visible("err-date_of_birth"), 5, "the date of birth error")
    check("under 18" in b.text("err-date_of_birth"), f"the page says the customer is under 18 ({b.text('err-date_of_birth')!r})")
    check(b.el("date_of_birth").get_attribute("aria-invalid") == "true", "the field is marked aria-invalid")
    described = b.el("date_of_birth").get_attribute("aria-describedby").split()
    check("err-date_of_birth" in described, "the error is tied to the field (aria-describedby)")
    check(b.js("return document.activeElement.id") == "date_of_birth", "the focus goes to the field in error")
    time.sleep(1.5)
    check(b.js("return window.cardpersoSent") == sent_before, "nothing was sent to the shop PC")
    _, audit_after = shop.adsctl("audit", "show", "--last", "1000")
    check(audit_after == audit_before, "nothing reached the ADS (its audit log is unchanged)")
    b.screenshot("under-age", at="date_of_birth")

    # The other client checks, each shown beside its field before anything is sent.
    b.fill_new(dict(ADA, date_of_birth="2999-01-01", email="no-at-sign", name="", id_number="X" * 33))
    b.el("email").send_keys(Keys.ENTER)
    b.wait(lambda: b.visible("err-email"), 5, "the email error")
    check("future" in b.text("err-date_of_birth") and b.visible("err-name") and
          "at most 32" in b.text("err-id_number"),
          "a date in the future, a missing name and a too long ID number are shown beside their fields")
    check(b.js("return window.cardpersoSent") == sent_before, "still nothing sent")

    # 2. The ADS's policy says no-go: the page shows it with the ADS's reason.
    nineteen = years_ago(19)
    b.fill_new(dict(ADA, name="Nineteen Customer", date_of_birth=nineteen))
    b.el("email").send_keys(Keys.ENTER)
    b.wait(lambda: b.el("request").get_attribute("data-status") == "no_go", 30, "the ADS's no-go")
    check(b.text("decision-verdict") == "no-go", "the page shows no-go")
    reasons = b.text("decision-reasons")
    check("21" in reasons, f"with the ADS's reason ({reasons!r})")
    _, audit_nogo = shop.adsctl("audit", "show", "--last", "1000")
    check(audit_nogo != audit_before, "the no-go reached the ADS (its audit log grew)")
    b.screenshot("no-go")

    # 3. A card that is not in the issuer's stock: refused, with the reason.
    unknown_dir = os.path.join(shop.work, "unknown")
    made = subprocess.run([env("CARDPERSO_MKCARDS"), "blank-batch", "--new-secret", "--secret-file",
                           os.path.join(shop.work, "unknown.secret"), "--iccid-prefix", "8988299", "--first", "1",
                           "--count", "1", "--out", unknown_dir], capture_output=True, text=True)
    check(made.returncode == 0, "a blank card of another batch is made")
    unknown = os.path.join(unknown_dir, sorted(os.listdir(unknown_dir))[0])
    b.fill_new(dict(ADA, name="Grace Hopper"))
    asked = len(shop.ste.lines)
    b.el("email").send_keys(Keys.ENTER)
    expect_prompt(b, shop, "insert_customer_card", r"Insert customer card", 30, asked)
    shop.insert_customer_card(unknown, "unknown-card")
    wait_outcome(b, "refused", 60)
    reason = b.text("outcome-reason")
    check(reason != "", f"the page shows the refusal's reason ({reason!r})")
    check(b.visible("outcome-advice") and "another" in b.text("outcome-advice"), "and what to do")
    b.screenshot("unknown-card-refused")
    shop.ste.wait_line(r"Remove customer card", 30, asked)
    time.sleep(1)

    # 4. The terminal disconnects while the card is written: the page says what happened and what to do.
    b.fill_new(dict(ADA, name="Alan Turing"))
    asked = len(shop.ste.lines)
    b.el("email").send_keys(Keys.ENTER)
    expect_prompt(b, shop, "insert_customer_card", r"Insert customer card", 30, asked)
    stock = os.path.join(shop.setup["STOCK_DIR"], f"{shop.setup['FIRST_ICCID']}.json")
    shop.insert_customer_card(stock, "stock-card", ["--apdu-delay-ms", "200"])
    expect_prompt(b, shop, "writing", r"Personalising card", 60, asked)
    time.sleep(1)  # a few APDUs into the script
    shop.ste.stop(signal.SIGKILL)
    b.wait(lambda: b.visible("notice"), 30, "the notice")
    notice = b.text("notice-text")
    check("terminal" in notice.lower(), f"the notice says the terminal disconnected ({notice!r})")
    check(b.el("notice").get_attribute("role") == "alert", "the notice is an alert for screen readers")
    b.wait_links("up", "down", "none", 30)
    check(True, "the page shows the terminal disconnected")
    b.screenshot("terminal-lost")


def access(shop, b):
    shop.run_setup(cards=1)
    # No ADS: the console works while the issuer's server is unreachable.
    shop.start_dtd(ads_port=free_port())
    host = f"{shop.console_host}:{shop.console_port}"
    csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " \
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    def get(path, headers=None):
        c = http.client.HTTPConnection(shop.console_host, shop.console_port, timeout=10)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        c.close()
        return r, body

    r, body = get("/")
    check(r.status == 403, f"GET / without the token: 403 ({r.status})")
    check("<html" not in body.lower() and "console.js" not in body and "New customer" not in body,
          "and the body has none of the page")
    check(r.getheader("Content-Security-Policy") == csp, "403 answers carry the CSP")
    r, body = get("/?token=" + "0" * len(shop.token))
    check(r.status == 403, f"a wrong token: 403 ({r.status})")
    r, body = get("/console.js")
    check(r.status == 403, "the script without the cookie: 403")
    r, _ = get("/?token=" + shop.token)
    cookie = r.getheader("Set-Cookie") or ""
    check(r.status == 303 and r.getheader("Location") == "/", f"the right token: 303 to / ({r.status})")
    check(cookie.startswith(f"cardperso_console={shop.token}") and "HttpOnly" in cookie and
          "SameSite=Strict" in cookie, "with an HttpOnly, SameSite=Strict cookie")
    jar = {"Cookie": f"cardperso_console={shop.token}"}
    r, body = get("/", jar)
    check(r.status == 200 and 'src="/console.js"' in body, "the cookie opens the page")
    check(r.getheader("Content-Security-Policy") == csp and r.getheader("X-Content-Type-Options") == "nosniff" and
          r.getheader("Referrer-Policy") == "no-referrer" and r.getheader("Cache-Control") == "no-store",
          "the page comes with the CSP and the other security headers")
    r, _ = get("/", dict(jar, Host=f"evil.example:{shop.console_port}"))
    check(r.status == 403, f"another Host header (DNS rebinding): 403 ({r.status})")

    def upgrade(origin):
        s = socket.create_connection((shop.console_host, shop.console_port), timeout=10)
        s.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   f"Origin: {origin}\r\nCookie: cardperso_console={shop.token}\r\n\r\n").encode())
        answer = s.recv(4096).decode(errors="replace")
        s.close()
        return answer.split("\r\n", 1)[0]

    status = upgrade("http://evil.example")
    check(" 403 " in status + " ", f"a WebSocket from http://evil.example: refused ({status})")
    status = upgrade(f"http://{host}")
    check(" 101 " in status, f"a WebSocket from the console's own origin: accepted ({status})")

    # The same in the browser, which holds the cookie: a page from another origin (same site,
    # another port, so the cookie would go along) opens a WebSocket to the console.
    b.open_console(shop)
    b.wait(lambda: b.link_state("ads") == "down", 10, "the ADS shown down")
    check(b.link_state("ads") == "down", "the page shows the issuer's server not connected")
    b.screenshot("ads-down")
    evil_dir = tempfile.mkdtemp(prefix="cardperso-evil.")
    with open(os.path.join(evil_dir, "index.html"), "w") as f:
        f.write(f"""<!DOCTYPE html><html><head><title>pending</title></head><body><p>another site</p><script>
const ws = new WebSocket("ws://{host}/ws");
let events = [];
ws.onopen = () => events.push("open");
ws.onmessage = () => events.push("message");
ws.onerror = () => events.push("error");
ws.onclose = () => {{ events.push("close"); document.title = events.join(","); }};
</script></body></html>""")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=evil_dir, **k)  # noqa: E731
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        b.driver.get(f"http://127.0.0.1:{evil.server_address[1]}/")
        b.wait(lambda: b.driver.title != "pending", 15, "the other origin's WebSocket to end")
        events = b.driver.title.split(",")
        check("open" not in events and "message" not in events and events[-1] == "close",
              f"the browser's WebSocket from another origin is refused before any message ({events})")
    finally:
        evil.shutdown()
        shutil.rmtree(evil_dir, ignore_errors=True)

    # The shop PC's agent goes away: the page says it is reconnecting and keeps trying.
    b.open_console(shop)
    shop.dtd.stop()
    b.wait(lambda: b.text("connection") == "Reconnecting…", 10, "Reconnecting…")
    check(b.link_state("terminal") == "unknown", "the page no longer claims a link state it cannot know")
    check(b.el("new-submit").get_attribute("disabled") is not None, "and the form cannot be sent meanwhile")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


CASES = {"WholeFlow": whole_flow, "Refusals": refusals, "Access": access}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print(f"usage: console_test.py {' | '.join(CASES)}", file=sys.stderr)
        return 2
    case = sys.argv[1]
    shop = Shop(case)
    browser = None
    ok = False
    try:
        browser = Browser(case)
        CASES[case](shop, browser)
        ok = True
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr, flush=True)
    except Exception:  # a crash of the test itself fails it too, with its trace
        traceback.print_exc()
    finally:
        if browser is not None:
            if not ok:
                try:
                    browser.screenshot("failure", checked=False)
                    print(f"screenshots in {browser.dir}", file=sys.stderr)
                except Exception:
                    pass
            browser.quit()
        if not ok:
            for name in ["dtd.log", "ste.log", "ads.log"]:
                path = os.path.join(shop.work, name)
                if os.path.exists(path):
                    print(f"--- {name} (last lines)", file=sys.stderr)
                    print("".join(open(path).readlines()[-25:]), file=sys.stderr)
        shop.close(keep=not ok)
    print("PASSED" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
