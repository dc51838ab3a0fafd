"""The gateway's browser pages in a real (headless) Chromium against the
running server: /docs renders every operation and "Try it out" calls each
one; the playground sizes and blurs a PNG, describes and filters a .npy and
shows the server's errors; no page asks another origin for anything, and no
page trips its Content-Security-Policy. Screenshots go to target/browser."""

import io

import numpy as np
import pytest
import requests
from conftest import KEY
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 20


def wait(driver, seconds=WAIT):
    return WebDriverWait(driver, seconds)


def operations(base):
    doc = requests.get(f"{base}/openapi.json", timeout=10).json()
    return [
        (method, path, op) for path, item in doc["paths"].items() for method, op in item.items()
    ]


def gradient_png(path, width, height):
    """An RGB picture with edges, so blurring visibly changes it."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack(
        [
            (x * 255 // max(width - 1, 1)),
            (y * 255 // max(height - 1, 1)),
            ((x // 8 + y // 8) % 2) * 255,
        ],
        axis=-1,
    ).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return path


def assert_clean(network, console, base):
    assert network.other_origins(base) == []
    errors = console()
    assert errors == [], errors


# ---- /docs ---------------------------------------------------------------


def open_docs(driver, base, count):
    driver.get(f"{base}/docs")
    wait(driver).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")) >= count
    )


def test_docs_render_every_operation(driver, base, network, console, shots):
    ops = operations(base)
    open_docs(driver, base, len(ops))
    shown = {
        (
            block.get_attribute("class").split("opblock-")[1].split()[0],
            path.get_attribute("data-path"),
        )
        for block in driver.find_elements(By.CSS_SELECTOR, ".opblock")
        for path in block.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert shown == {(method, path) for method, path, _ in ops}
    summaries = driver.find_element(By.ID, "swagger-ui").text
    for _, _, op in ops:
        assert op["summary"] in summaries
    driver.save_screenshot(str(shots / "docs.png"))
    assert_clean(network, console, base)


def expand(driver, op):
    block = driver.find_element(
        # Swagger UI's deep-link ids spell spaces in tag names as "_".
        By.ID,
        f"operations-{op['tags'][0].replace(' ', '_')}-{op['operationId']}",
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", block)
    if "is-open" not in block.get_attribute("class"):
        block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait(driver).until(lambda d: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    return block


def execute(driver, block):
    """Presses Execute; the status and body shown for the live answer."""
    block.find_element(By.CSS_SELECTOR, ".btn.execute").click()
    row = wait(driver).until(
        lambda d: block.find_elements(By.CSS_SELECTOR, ".live-responses-table tr.response")
    )[0]
    status = row.find_element(By.CSS_SELECTOR, ".response-col_status").text.strip()
    body = row.find_element(By.CSS_SELECTOR, ".response-col_description").text
    return status, body


def test_try_it_out_of_describe_shows_200(driver, base, files, network, console, shots):
    npy = files / "docs.npy"
    np.save(npy, np.arange(12, dtype=np.float32).reshape(3, 4))
    ops = operations(base)
    open_docs(driver, base, len(ops))
    op = next(op for _, path, op in ops if path == "/v1/describe")
    block = expand(driver, op)
    block.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(npy))
    status, body = execute(driver, block)
    assert status == "200", body
    assert '"dtype": "float32"' in body
    assert '"shape": [\n    3,\n    4\n  ]' in body or "3," in body
    driver.save_screenshot(str(shots / "docs-describe.png"))
    assert_clean(network, console, base)


def fill(driver, block, op, files):
    """Gives an operation what "Try it out" needs: a file for each file
    input (a .npy or a PNG, as the route reads), sigma for the filter. JSON
    bodies are the document's examples, already filled in."""
    png = gradient_png(files / "try.png", 20, 10)
    npy = files / "try.npy"
    np.save(npy, np.arange(6, dtype=np.float64).reshape(2, 3))
    wants_image = op["operationId"] in ("imSize", "imageSize")
    for add in block.find_elements(
        By.XPATH, ".//button[contains(., 'Add') and contains(., 'item')]"
    ):
        add.click()
    for field in block.find_elements(By.CSS_SELECTOR, "input[type=file]"):
        field.send_keys(str(png if wants_image else npy))
    for row in block.find_elements(By.CSS_SELECTOR, "tr[data-param-name='sigma'] input[type=text]"):
        row.send_keys("1")


# Every route of /openapi.json (checked against the document below).
ROUTES = [
    ("post", "/"),
    ("post", "/receive_array"),
    ("post", "/receive_tensor"),
    ("post", "/receive_list"),
    ("post", "/im_size"),
    ("post", "/v1/describe"),
    ("post", "/v1/gaussian_filter"),
    ("post", "/v1/gaussian_filter1d"),
    ("post", "/v1/gaussian_laplace"),
    ("post", "/v1/gaussian_gradient_magnitude"),
    ("post", "/v1/image_size"),
    ("post", "/v1/tensors"),
    ("get", "/v1/tensors"),
    ("get", "/v1/tensors/{id}"),
    ("delete", "/v1/tensors/{id}"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v2"),
    ("get", "/v2/health/live"),
    ("get", "/v2/health/ready"),
    ("get", "/v2/models/{name}"),
    ("get", "/v2/models/{name}/versions/{version}"),
    ("get", "/v2/models/{name}/ready"),
    ("get", "/v2/models/{name}/versions/{version}/ready"),
    ("post", "/v2/models/{name}/infer"),
    ("post", "/v2/models/{name}/versions/{version}/infer"),
]


def test_every_documented_route_is_tried(base):
    assert set(ROUTES) == {(m, p) for m, p, _ in operations(base)}


@pytest.mark.parametrize("method,path", ROUTES)
def test_try_it_out_calls_every_route(driver, base, files, network, console, path, method):
    ops = operations(base)
    op = next((op for m, p, op in ops if (m, p) == (method, path)), None)
    assert op is not None, f"{method} {path} is not documented"
    open_docs(driver, base, len(ops))
    block = expand(driver, op)
    fill(driver, block, op, files)
    if "{id}" in path:
        # A tensor of the store to name: put over HTTP, its id typed in.
        npy = files / "stored.npy"
        np.save(npy, np.arange(4, dtype=np.int32))
        put = requests.post(f"{base}/v1/tensors", data=npy.read_bytes(), timeout=30)
        assert put.status_code == 201, put.text
        field = block.find_element(By.CSS_SELECTOR, "tr[data-param-name='id'] input[type=text]")
        field.send_keys(put.json()["id"])
    status, body = execute(driver, block)
    # Storing a tensor creates it: 201, as documented.
    assert status == ("201" if op["operationId"] == "putTensor" else "200"), body
    assert_clean(network, console, base)


# ---- the playground ------------------------------------------------------


def open_playground(driver, base):
    driver.get(f"{base}/")
    wait(driver).until(ec.presence_of_element_located((By.ID, "image-file")))


def blurred_state(driver):
    return driver.execute_script(
        "const i = document.getElementById('image-blurred');"
        "return [i.complete, i.naturalWidth, i.naturalHeight,"
        " i.dataset.sigma || '', i.dataset.mode || ''];"
    )


def shown_pixels(driver, element_id):
    """The RGBA pixels of an <img> as the page shows it (drawn on a canvas)."""
    flat = driver.execute_script(
        "const i = document.getElementById(arguments[0]);"
        "const c = document.createElement('canvas');"
        "c.width = i.naturalWidth; c.height = i.naturalHeight;"
        "const g = c.getContext('2d'); g.drawImage(i, 0, 0);"
        "return Array.from(g.getImageData(0, 0, c.width, c.height).data);",
        element_id,
    )
    return np.array(flat, dtype=np.uint8)


def test_playground_sizes_and_blurs_an_image(driver, base, files, network, console):
    png = gradient_png(files / "picture.png", 64, 48)
    open_playground(driver, base)
    driver.find_element(By.ID, "image-file").send_keys(str(png))
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "image-size"), "64 × 48 px"))
    assert driver.find_element(By.ID, "image-size").text == "64 × 48 px"
    wait(driver).until(lambda d: blurred_state(d) == [True, 64, 48, "2.0", "reflect"])

    # Move the slider: ten steps of 0.1 to the right.
    slider = driver.find_element(By.ID, "sigma")
    slider.click()
    start = float(slider.get_attribute("value"))
    for _ in range(10):
        slider.send_keys(Keys.ARROW_RIGHT)
    sigma = f"{float(slider.get_attribute('value')):.1f}"
    assert sigma == f"{start + 1.0:.1f}"
    assert driver.find_element(By.ID, "sigma-value").text == sigma
    wait(driver).until(lambda d: blurred_state(d) == [True, 64, 48, sigma, "reflect"])

    Select(driver.find_element(By.ID, "mode")).select_by_visible_text("nearest")
    wait(driver).until(lambda d: blurred_state(d) == [True, 64, 48, sigma, "nearest"])

    # The page shows exactly what the route answers for those settings.
    answer = requests.post(
        f"{base}/v1/gaussian_filter",
        params={"sigma": sigma, "mode": "nearest"},
        data=png.read_bytes(),
        headers={"Content-Type": "image/png", "Accept": "image/png"},
        timeout=30,
    )
    assert answer.status_code == 200
    expected = np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGBA")).ravel()
    assert np.array_equal(shown_pixels(driver, "image-blurred"), expected)
    original = np.asarray(Image.open(png).convert("RGBA")).ravel()
    assert not np.array_equal(expected, original)
    assert np.array_equal(shown_pixels(driver, "image-original"), original)

    # The menu of operations comes from the server's registry (through
    # /openapi.json); another operation shows that route's answer.
    menu = Select(driver.find_element(By.ID, "operation"))
    wait(driver).until(lambda d: len(menu.options) >= 4)
    menu.select_by_value("gaussian_gradient_magnitude")
    wait(driver).until(
        lambda d: (
            d.execute_script("return document.getElementById('image-blurred').dataset.operation")
            == "gaussian_gradient_magnitude"
            and blurred_state(d)[0]
        )
    )
    answer = requests.post(
        f"{base}/v1/gaussian_gradient_magnitude",
        params={"sigma": sigma, "mode": "nearest"},
        data=png.read_bytes(),
        headers={"Content-Type": "image/png", "Accept": "image/png"},
        timeout=30,
    )
    assert answer.status_code == 200
    expected = np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGBA")).ravel()
    assert np.array_equal(shown_pixels(driver, "image-blurred"), expected)
    assert_clean(network, console, base)


def test_playground_describes_and_filters_a_npy(driver, base, files, network, console, shots):
    array = np.arange(12, dtype=np.float64).reshape(3, 4)
    npy = files / "array.npy"
    np.save(npy, array)
    png = gradient_png(files / "shot.png", 320, 200)
    open_playground(driver, base)
    driver.find_element(By.ID, "npy-file").send_keys(str(npy))
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "npy-dtype"), "float64"))
    summary = {
        name: driver.find_element(By.ID, f"npy-{name}").text
        for name in ("dtype", "shape", "min", "max", "mean")
    }
    assert summary == {
        "dtype": "float64",
        "shape": "(3, 4)",
        "min": "0",
        "max": "11",
        "mean": "5.5",
    }
    link = wait(driver).until(ec.visibility_of_element_located((By.ID, "npy-download")))
    assert link.get_attribute("href").startswith("blob:")
    assert link.get_attribute("download") == "array_sigma2.0_reflect.npy"
    answer = requests.post(
        f"{base}/v1/gaussian_filter",
        params={"sigma": "2.0", "mode": "reflect"},
        data=npy.read_bytes(),
        headers={"Content-Type": "application/x-npy"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert link.get_attribute("data-bytes") == str(len(answer.content))

    # Both cards filled in, for the screenshot.
    driver.find_element(By.ID, "image-file").send_keys(str(png))
    wait(driver).until(lambda d: blurred_state(d)[:3] == [True, 320, 200])
    driver.set_window_size(1280, driver.execute_script("return document.body.scrollHeight") + 40)
    driver.save_screenshot(str(shots / "playground.png"))
    driver.set_window_size(1280, 1000)
    assert_clean(network, console, base)


def test_playground_shows_the_servers_message(driver, base, files, network, console):
    bogus = files / "not-an-image.png"
    bogus.write_bytes(b"this is no picture")
    message = requests.post(
        f"{base}/v1/image_size",
        params={"filename": bogus.name},
        data=bogus.read_bytes(),
        headers={"Content-Type": "image/png"},
        timeout=10,
    ).json()["message"]
    open_playground(driver, base)
    driver.find_element(By.ID, "image-file").send_keys(str(bogus))
    error = wait(driver).until(ec.visibility_of_element_located((By.ID, "image-error")))
    assert message in error.text
    # The browser logs the failed call itself; nothing else may be wrong.
    assert network.other_origins(base) == []
    assert all("image_size" in e for e in console()), console()


def test_playground_with_api_keys_asks_for_the_key(driver, keyed_base, files, network, console):
    npy = files / "keyed.npy"
    np.save(npy, np.arange(4, dtype=np.int32))
    open_playground(driver, keyed_base)
    field = driver.find_element(By.ID, "api-key")
    assert field.is_displayed()

    # Without the key: the server's refusal, as its message.
    driver.find_element(By.ID, "npy-file").send_keys(str(npy))
    refusal = requests.post(
        f"{keyed_base}/v1/describe",
        data=npy.read_bytes(),
        headers={"Content-Type": "application/x-npy"},
        timeout=10,
    )
    assert refusal.status_code == 401
    error = wait(driver).until(ec.visibility_of_element_located((By.ID, "npy-error")))
    assert refusal.json()["message"] in error.text

    # With it (sent as X-API-Key once the field changes): the summary.
    field.send_keys(KEY, Keys.TAB)
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "npy-dtype"), "int32"))
    assert driver.find_element(By.ID, "npy-shape").text == "(4,)"
    assert not driver.find_element(By.ID, "npy-error").is_displayed()
    assert network.other_origins(keyed_base) == []
    # The browser logs the refused call itself; nothing else may be wrong.
    assert all("401" in e for e in console()), console()
