// The playground: calls /v1/image_size, /v1/describe and /v1/<operation>
// (gaussian_filter and every other operation the server offers) on this
// gateway with the file a person picks or drops, and shows the answers.
// Loaded as a file, so the page's policy needs no inline script.
"use strict";

(function () {
  const byId = (id) => document.getElementById(id);

  const operation = byId("operation");
  const sigma = byId("sigma");
  const mode = byId("mode");
  // Each operation's parameter names, from the OpenAPI document (which the
  // server writes from its registry of operations): the menu lists every
  // /v1 route that takes a sigma, and a control is sent only to an
  // operation that takes it.
  const operationParams = { gaussian_filter: ["sigma", "mode"] };
  fetch("openapi.json")
    .then((response) => response.json())
    .then(function (doc) {
      for (const [path, item] of Object.entries(doc.paths || {})) {
        const names = ((item.post && item.post.parameters) || []).map((p) => p.name);
        if (!path.startsWith("/v1/") || !names.includes("sigma")) {
          continue;
        }
        const name = path.slice(4);
        operationParams[name] = names;
        let option = operation.querySelector('option[value="' + name + '"]');
        if (!option) {
          option = document.createElement("option");
          option.value = name;
          option.textContent = name;
          operation.appendChild(option);
        }
        option.title = item.post.summary || "";
      }
    })
    .catch(function () {
      // Without the document the menu keeps gaussian_filter.
    });
  const key = byId("api-key");

  // One slot per kind of input: the file, the request in flight (aborted
  // when a newer one starts) and the blob URLs to release when replaced.
  const slots = {
    image: { file: null, controller: null, urls: {} },
    npy: { file: null, controller: null, urls: {} },
  };

  if (document.body.dataset.apiKeys === "required") {
    showKeyField();
  }

  function showKeyField() {
    byId("key-control").hidden = false;
  }

  function sigmaText() {
    return Number(sigma.value).toFixed(1);
  }

  function filterQuery() {
    const takes = operationParams[operation.value] || [];
    const query = new URLSearchParams({ sigma: sigma.value });
    if (takes.includes("mode")) {
      query.set("mode", mode.value);
    }
    return query.toString();
  }

  function operationUrl() {
    return "v1/" + operation.value + "?" + filterQuery();
  }

  function headers(contentType, accept) {
    const result = new Headers({ "Content-Type": contentType, Accept: accept });
    const typed = key.value.trim();
    if (typed) {
      result.set("X-API-Key", typed);
    }
    return result;
  }

  // POSTs `body` to `path` (relative, so a gateway behind a path prefix
  // works) and returns the response, or throws the server's message.
  async function post(path, body, contentType, accept, signal) {
    const response = await fetch(path, {
      method: "POST",
      body: body,
      headers: headers(contentType, accept),
      signal: signal,
    });
    if (!response.ok) {
      throw await failure(response);
    }
    return response;
  }

  // The gateway's errors are JSON {"message", "code"}: show the message.
  async function failure(response) {
    let message = "the server answered " + response.status + " " + response.statusText;
    try {
      const body = await response.json();
      if (body && typeof body.message === "string") {
        message = body.message + (body.code ? " (" + body.code + ")" : "");
      }
    } catch (_) {
      // Not JSON: keep the status line.
    }
    if (response.status === 401) {
      showKeyField();
      key.focus();
    }
    return new Error(message);
  }

  function showError(kind, message) {
    const box = byId(kind + "-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // Points `img` (or a link) at a new blob, releasing the one it replaces.
  function setBlobUrl(slot, name, blob) {
    if (slot.urls[name]) {
      URL.revokeObjectURL(slot.urls[name]);
    }
    slot.urls[name] = blob ? URL.createObjectURL(blob) : null;
    return slot.urls[name];
  }

  // Starts a request of `slot`, aborting the one before it.
  function begin(slot) {
    if (slot.controller) {
      slot.controller.abort();
    }
    slot.controller = new AbortController();
    return slot.controller.signal;
  }

  function isAbort(error) {
    return error && error.name === "AbortError";
  }

  // The Content-Type of an image body: the browser's guess, or a generic
  // image type (the gateway reads the format from the bytes).
  function imageType(file) {
    return file.type && file.type.startsWith("image/") ? file.type : "image/*";
  }

  function formatBytes(n) {
    if (n < 1024) {
      return n + " B";
    }
    const units = ["KiB", "MiB", "GiB"];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return value.toFixed(1) + " " + units[unit];
  }

  function formatNumber(value) {
    if (value === null || value === undefined) {
      return "—";
    }
    if (Number.isInteger(value)) {
      return String(value);
    }
    return String(Number(value.toPrecision(6)));
  }

  // NumPy's way of writing a shape: (2, 3), (5,), ().
  function formatShape(shape) {
    if (shape.length === 1) {
      return "(" + shape[0] + ",)";
    }
    return "(" + shape.join(", ") + ")";
  }

  // ---- images --------------------------------------------------------

  async function takeImage(file) {
    const slot = slots.image;
    slot.file = file;
    showError("image", null);
    byId("image-result").hidden = false;
    byId("image-original").src = setBlobUrl(slot, "original", file);
    byId("image-size").textContent = "";
    byId("image-details").textContent = file.name;
    const path = "v1/image_size?" + new URLSearchParams({ filename: file.name });
    try {
      const response = await post(path, file, imageType(file), "application/json");
      const info = await response.json();
      if (slot.file !== file) {
        return;
      }
      byId("image-size").textContent = info.width + " × " + info.height + " px";
      const details = [info.format, info.color_type, formatBytes(file.size)];
      byId("image-details").textContent = details.filter(Boolean).join(" · ");
      await filterImage();
    } catch (error) {
      if (slot.file === file && !isAbort(error)) {
        showError("image", error.message);
      }
    }
  }

  async function filterImage() {
    const slot = slots.image;
    if (!slot.file) {
      return;
    }
    const signal = begin(slot);
    const wanted = { sigma: sigmaText(), mode: mode.value, operation: operation.value };
    const caption = byId("image-blurred-caption");
    caption.textContent = "Filtering…";
    const started = performance.now();
    try {
      const response = await post(
        operationUrl(),
        slot.file,
        imageType(slot.file),
        "image/png",
        signal,
      );
      const png = await response.blob();
      const took = Math.round(performance.now() - started);
      const img = byId("image-blurred");
      img.onload = function () {
        img.dataset.sigma = wanted.sigma;
        img.dataset.mode = wanted.mode;
        img.dataset.operation = wanted.operation;
        img.classList.toggle("small", img.naturalWidth < 240 && img.naturalHeight < 240);
        byId("image-original").classList.toggle("small", img.classList.contains("small"));
      };
      img.src = setBlobUrl(slot, "filtered", png);
      caption.textContent = "Filtered · sigma " + wanted.sigma + " · " + wanted.mode + " · " + took + " ms";
      showError("image", null);
    } catch (error) {
      if (!isAbort(error)) {
        caption.textContent = "Filtered";
        showError("image", error.message);
      }
    }
  }

  // ---- .npy arrays ---------------------------------------------------

  async function takeNpy(file) {
    const slot = slots.npy;
    slot.file = file;
    showError("npy", null);
    byId("npy-result").hidden = true;
    try {
      const response = await post("v1/describe", file, "application/x-npy", "application/json");
      const info = await response.json();
      if (slot.file !== file) {
        return;
      }
      byId("npy-dtype").textContent = info.dtype;
      byId("npy-shape").textContent = formatShape(info.shape);
      byId("npy-min").textContent = formatNumber(info.min);
      byId("npy-max").textContent = formatNumber(info.max);
      byId("npy-mean").textContent = formatNumber(info.mean);
      byId("npy-result").hidden = false;
      await filterNpy();
    } catch (error) {
      if (slot.file === file && !isAbort(error)) {
        showError("npy", error.message);
      }
    }
  }

  async function filterNpy() {
    const slot = slots.npy;
    if (!slot.file || byId("npy-result").hidden) {
      return;
    }
    const signal = begin(slot);
    const wanted = { sigma: sigmaText(), mode: mode.value };
    const link = byId("npy-download");
    const note = byId("npy-download-note");
    link.hidden = true;
    note.textContent = "Filtering…";
    try {
      const response = await post(
        operationUrl(),
        slot.file,
        "application/x-npy",
        "application/x-npy",
        signal,
      );
      const npy = await response.blob();
      const stem = slot.file.name.replace(/\.npy$/i, "");
      link.href = setBlobUrl(slot, "filtered", npy);
      link.download = stem + "_sigma" + wanted.sigma + "_" + wanted.mode + ".npy";
      link.dataset.bytes = String(npy.size);
      link.dataset.sigma = wanted.sigma;
      link.hidden = false;
      note.textContent = "sigma " + wanted.sigma + " · " + wanted.mode + " · " + formatBytes(npy.size);
      showError("npy", null);
    } catch (error) {
      if (!isAbort(error)) {
        note.textContent = "";
        showError("npy", error.message);
      }
    }
  }

  // ---- wiring --------------------------------------------------------

  // A dropped or picked file goes where its kind belongs, whichever box
  // it was dropped on.
  function take(file) {
    if (!file) {
      return;
    }
    if (/\.npy$/i.test(file.name)) {
      takeNpy(file);
    } else {
      takeImage(file);
    }
  }

  for (const id of ["image", "npy"]) {
    const input = byId(id + "-file");
    const drop = byId(id + "-drop");
    input.addEventListener("change", function () {
      take(input.files[0]);
    });
    drop.addEventListener("dragover", function (event) {
      event.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", function () {
      drop.classList.remove("over");
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      drop.classList.remove("over");
      take(event.dataTransfer.files[0]);
    });
  }

  // A file dropped beside the boxes would make the browser leave the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  // The slider asks again once it rests for a moment; the menu at once.
  let pending = null;
  function settingsChanged(delay) {
    byId("sigma-value").textContent = sigmaText();
    clearTimeout(pending);
    pending = setTimeout(function () {
      filterImage();
      filterNpy();
    }, delay);
  }
  sigma.addEventListener("input", () => settingsChanged(150));
  sigma.addEventListener("change", () => settingsChanged(0));
  mode.addEventListener("change", () => settingsChanged(0));
  operation.addEventListener("change", () => settingsChanged(0));
  key.addEventListener("change", function () {
    if (slots.image.file) {
      takeImage(slots.image.file);
    }
    if (slots.npy.file) {
      takeNpy(slots.npy.file);
    }
  });
  byId("sigma-value").textContent = sigmaText();
})();
