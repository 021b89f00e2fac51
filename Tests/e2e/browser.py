"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, and a QR reader."""
import io
import shutil

import zxingcpp
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

TV = (1280, 720)
PHONE = (390, 844)


def chromium(size):
    """A browser of its own (own profile, so its own localStorage) with a window of `size`."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    # The window includes browser chrome; the page must get exactly `size` (a TV, a phone screen).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size == PHONE})
    return driver


def wait_for(driver, condition, timeout=10, message=""):
    """Polls `condition(driver)` every 50 ms until it is truthy; returns its value. On timeout the
    failure names the page and what its status elements say."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
    except TimeoutException:
        shown = {name: text_of(driver, name) for name in ("banner", "status", "notice", "link-state")
                 if driver.find_elements("id", name)}
        raise AssertionError(f"{message or 'condition'} not met within {timeout} s at {driver.current_url}: {shown}") from None


def text_of(driver, element_id):
    return driver.find_element("id", element_id).text


def decode_qr(png_bytes):
    """The text of every QR code in a PNG, as a phone camera app would read it."""
    image = Image.open(io.BytesIO(png_bytes))
    return [result.text for result in zxingcpp.read_barcodes(image) if result.format == zxingcpp.BarcodeFormat.QRCode]
