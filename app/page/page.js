// faceverify's page. Every URL is relative ("verify", not "/verify"): behind a proxy that
// serves the service under a path prefix, requests go to that prefix. No inline script, no
// third-party code; the API key stays in this tab's sessionStorage.
"use strict";

const KEY_STORAGE = "faceverify.apiKey";
const PAGE_SIZE = 10;
const $ = (id) => document.getElementById(id);

const PLAIN_WORDS = {
  no_face: "No face was found in this photo. Try one where the face is clearly visible and faces the camera.",
  low_quality_face: "A face was found, but it is too small, blurred or dark to compare.",
  invalid_image: "This file is not an image the service can read (JPEG, PNG, WebP, BMP, GIF, TIFF or PGM).",
  image_too_large: "This photo is too large for the service. Try a smaller one.",
  unsupported_image_shape: "This photo is too small, or far too narrow for its height.",
  multiple_faces: "This photo shows several faces, and the service is set not to choose one.",
  crop_enrolment_disabled: "The service does not enrol faces its detector did not find.",
  server_busy: "The service is busy right now. Try again in a moment.",
  model_not_ready: "The service is still starting (or stopping). Try again in a moment.",
  unauthorized: "The service needs an API key: enter it above (or check the one entered).",
  preparation_budget_exceeded: "These photos took too long to read. Try smaller ones.",
  person_not_found: "This person is no longer enrolled.",
  face_not_found: "This template is no longer stored.",
  person_exists: "Someone with this id is already enrolled.",
  too_many_faces: "This person already has as many templates as the service allows.",
  too_many_images: "Too many photos at once.",
};
const IMAGE_ERRORS = new Set([
  "no_face", "low_quality_face", "invalid_image", "image_too_large",
  "unsupported_image_shape", "multiple_faces",
]);

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function plain(error) {
  if (!(error instanceof ApiError)) {
    return "The service could not be reached. Check that it is running, then try again.";
  }
  const words = PLAIN_WORDS[error.code];
  if (!words) return error.message;
  if (error.code === "low_quality_face" || error.code === "validation_error") {
    return `${words} (${error.message})`;
  }
  return words;
}

// ---------------------------------------------------------------- talking to the service
function headers(extra) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const all = { ...(extra || {}) };
  if (key) all["X-API-Key"] = key;
  return all;
}

async function call(path, options) {
  let response;
  try {
    response = await fetch(path, { ...(options || {}), headers: headers((options || {}).headers) });
  } catch (networkError) {
    throw new ApiError("network", "The service could not be reached.", 0);
  }
  if (response.status === 204) return null;
  let body = null;
  try {
    body = await response.json();
  } catch (notJson) {
    body = null;
  }
  if (!response.ok) {
    const detail = (body && body.error) || {};
    throw new ApiError(detail.code || `http_${response.status}`,
      detail.message || `The service answered ${response.status}.`, response.status);
  }
  return body;
}

function form(fields) {
  const data = new FormData();
  for (const [name, value] of fields) {
    if (value !== null && value !== undefined && value !== "") data.append(name, value);
  }
  return data;
}

// ---------------------------------------------------------------- tabs and API key
function setupTabs() {
  const tabs = [$("tab-compare"), $("tab-people")];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    if (tab.id === "tab-people" && !peopleLoaded) loadPeople(null);
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        const step = event.key === "ArrowRight" ? 1 : tabs.length - 1;
        select(tabs[(index + step) % tabs.length], true);
        event.preventDefault();
      }
    });
  });
}

function setupKey() {
  const input = $("api-key");
  input.value = sessionStorage.getItem(KEY_STORAGE) || "";
  input.addEventListener("input", () => {
    if (input.value) sessionStorage.setItem(KEY_STORAGE, input.value);
    else sessionStorage.removeItem(KEY_STORAGE);
  });
}

// ---------------------------------------------------------------- operating points
let points = [];

function pointLabel(point) {
  if (point.far === null) {
    const name = point.name.replace(/_/g, " ");
    return !point.default ? name : name === "default" ? "the model's default" : `${name} (default)`;
  }
  return `at most ${point.far} false accepts (1 in ${Math.round(1 / point.far).toLocaleString("en")})`;
}

async function loadModel(attempt) {
  try {
    const ready = await call("ready");
    points = ready.operating_points;
    const model = ready.model;
    $("model-line").textContent = `Model ${model.name} ${model.version}: ${points.length} operating points.`;
    const select = $("point");
    select.textContent = "";
    for (const point of points.slice().sort((a, b) => a.cosine - b.cosine)) {
      const option = document.createElement("option");
      option.value = point.far === null ? "" : String(point.far);
      option.textContent = `${pointLabel(point)}: cosine ${point.cosine.toFixed(3)}`;
      option.selected = point.default;
      select.append(option);
    }
  } catch (error) {
    $("model-line").textContent = `${plain(error)} (retrying)`;
    if (attempt < 60) setTimeout(() => loadModel(attempt + 1), 2000);
  }
}

// ---------------------------------------------------------------- compare: photos
const photos = { 1: null, 2: null };
let activeSlot = 1;

function setPhoto(slot, file) {
  if (!file) return;
  photos[slot] = { file, image: null };
  $(`error-${slot}`).textContent = "";
  $(`faces-${slot}`).textContent = `${file.name || "pasted photo"}`;
  $(`crop-fig-${slot}`).hidden = true;
  $("result").hidden = true;
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.onload = () => {
    photos[slot].image = image;
    drawPhoto(slot, null);
  };
  image.onerror = () => {
    $(`canvas-${slot}`).hidden = true;
    $(`faces-${slot}`).textContent = `${file.name || "photo"}: this browser cannot show it, but the service may still read it.`;
  };
  image.src = url;
}

function drawPhoto(slot, faces) {
  const entry = photos[slot];
  const canvas = $(`canvas-${slot}`);
  if (!entry || !entry.image) return;
  const image = entry.image;
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  canvas.hidden = false;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `Photo ${slot}`);
  canvas.dataset.boxes = "0";
  if (!faces || !faces.face) return;
  const [x, y, w, h] = faces.face.box;
  const line = Math.max(2, Math.round(Math.max(canvas.width, canvas.height) / 200));
  // The other faces found (return_faces): thin, dashed and dimmer, under the chosen one's box.
  const others = (faces.faces || []).filter((face) => !face.chosen);
  context.save();
  context.setLineDash([line * 3, line * 2]);
  for (const other of others) {
    const [ox, oy, ow, oh] = other.box;
    context.lineWidth = Math.max(1, line / 2) + 2;
    context.strokeStyle = "rgba(0, 0, 0, 0.55)";
    context.strokeRect(ox, oy, ow, oh);
    context.lineWidth = Math.max(1, line / 2);
    context.strokeStyle = "rgba(255, 255, 255, 0.8)";
    context.strokeRect(ox, oy, ow, oh);
  }
  context.restore();
  canvas.dataset.boxes = String(others.length + 1);
  context.lineWidth = line;
  context.strokeStyle = "#00e676";
  context.strokeRect(x, y, w, h);
  context.fillStyle = "#ff1744";
  for (const [lx, ly] of faces.face.landmarks) {
    context.beginPath();
    context.arc(lx, ly, line * 1.5, 0, 2 * Math.PI);
    context.fill();
  }
  if (faces.faces_detected > 1) {
    const label = `chosen of ${faces.faces_detected}`;
    context.font = `${Math.max(12, line * 7)}px system-ui, sans-serif`;
    const width = context.measureText(label).width + line * 4;
    const height = Math.max(12, line * 7) + line * 2;
    context.fillStyle = "#00e676";
    context.fillRect(x, Math.max(0, y - height), width, height);
    context.fillStyle = "#000";
    context.fillText(label, x + line * 2, Math.max(height - line * 2, y - line * 2));
  }
  const marked = `the face compared marked: a box and ${faces.face.landmarks.length} landmarks`;
  canvas.setAttribute("aria-label", others.length
    ? `Photo ${slot}, with ${marked}; ${others.length} other faces found in thin dashed boxes`
    : `Photo ${slot}, with ${marked}`);
}

function describeFaces(slot, faces) {
  const listed = faces.faces ? faces.faces.length : faces.faces_detected;
  const shown = listed < faces.faces_detected ? ` (the ${listed} most confident are drawn)` : "";
  const text = faces.faces_detected > 1
    ? `${faces.faces_detected} faces found; the marked one was compared: boxed in green and ` +
      `labelled "chosen", the others in thin dashed boxes${shown}.`
    : faces.face ? "Face found: box and landmarks drawn." : "Taken whole (no detection).";
  $(`faces-${slot}`).textContent = faces.fallback ? `${text} (found with a fallback)` : text;
  if (faces.crop) {
    $(`crop-${slot}`).src = faces.crop;
    $(`crop-fig-${slot}`).hidden = false;
  }
}

function setupSlots() {
  for (const slot of [1, 2]) {
    const element = $(`slot-${slot}`);
    for (const id of [`file-${slot}`, `camera-${slot}`]) {
      $(id).addEventListener("change", (event) => setPhoto(slot, event.target.files[0]));
    }
    element.addEventListener("focusin", () => { activeSlot = slot; });
    element.addEventListener("dragover", (event) => {
      event.preventDefault();
      element.classList.add("dragging");
    });
    element.addEventListener("dragleave", () => element.classList.remove("dragging"));
    element.addEventListener("drop", (event) => {
      event.preventDefault();
      element.classList.remove("dragging");
      const file = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/"))
        || event.dataTransfer.files[0];
      setPhoto(slot, file);
    });
  }
  document.addEventListener("paste", (event) => {
    if ($("panel-compare").hidden) return;
    const item = [...event.clipboardData.items].find((i) => i.kind === "file" && i.type.startsWith("image/"));
    if (!item) return;
    const slot = photos[activeSlot] && !photos[activeSlot === 1 ? 2 : 1] ? (activeSlot === 1 ? 2 : 1) : activeSlot;
    setPhoto(slot, item.getAsFile());
    event.preventDefault();
  });
}

// ---------------------------------------------------------------- compare: the verdict
async function compare() {
  $("compare-error").textContent = "";
  $("error-1").textContent = "";
  $("error-2").textContent = "";
  if (!photos[1] || !photos[2]) {
    $("compare-error").textContent = "Choose two photos first.";
    return;
  }
  const button = $("compare");
  button.disabled = true;
  button.textContent = "Comparing…";
  const far = $("point").value;
  try {
    const answer = await call("verify", {
      method: "POST",
      body: form([["image1", photos[1].file], ["image2", photos[2].file], ["far", far], ["return_crop", "true"],
        ["return_faces", "true"]]),
    });
    for (const slot of [1, 2]) {
      drawPhoto(slot, answer[`image${slot}`]);
      describeFaces(slot, answer[`image${slot}`]);
    }
    showVerdict(answer);
  } catch (error) {
    $("result").hidden = true;
    if (error instanceof ApiError && IMAGE_ERRORS.has(error.code)) await placeImageErrors(error);
    else $("compare-error").textContent = plain(error);
  } finally {
    button.disabled = false;
    button.textContent = "Compare";
  }
}

// /verify names the first failure, not which photo: /embed answers for each photo.
async function placeImageErrors(first) {
  try {
    const answer = await call("embed", {
      method: "POST",
      body: form([["images", photos[1].file], ["images", photos[2].file], ["return_faces", "true"]]),
    });
    let placed = false;
    answer.results.forEach((result, index) => {
      const slot = index + 1;
      if (result.error) {
        $(`error-${slot}`).textContent = plain(new ApiError(result.error.code, result.error.message));
        $(`faces-${slot}`).textContent = "";
        drawPhoto(slot, null);
        placed = true;
      } else {
        drawPhoto(slot, result);
        describeFaces(slot, result);
      }
    });
    if (!placed) $("compare-error").textContent = plain(first);
  } catch (error) {
    $("compare-error").textContent = plain(error.code === "network" ? error : first);
  }
}

function showVerdict(answer) {
  const verdict = $("verdict");
  verdict.textContent = answer.verified ? "Same person" : "Not the same person";
  verdict.className = `verdict ${answer.verified ? "match" : "no-match"}`;
  const point = points.find((p) => p.name === answer.operating_point);
  const where = point ? pointLabel(point) : answer.operating_point;
  $("similarity-line").textContent =
    `Similarity ${answer.similarity.toFixed(3)} ${answer.verified ? "reaches" : "is below"} ` +
    `the threshold ${answer.threshold.toFixed(3)} (${where}).`;
  drawScale(answer);
  $("result").hidden = false;
}

function drawScale(answer) {
  const scale = $("scale");
  scale.textContent = "";
  const cosines = points.map((p) => p.cosine).concat([answer.similarity, answer.threshold]);
  const low = Math.max(-1, Math.floor((Math.min(...cosines) - 0.05) * 20) / 20);
  const high = 1;
  const at = (value) => `${(100 * (value - low)) / (high - low)}%`;
  const legend = $("scale-legend");
  legend.textContent = "";
  const sorted = points.slice().sort((a, b) => a.cosine - b.cosine);
  sorted.forEach((point, index) => {
    const tick = document.createElement("div");
    const chosen = point.name === answer.operating_point;
    tick.className = chosen ? "tick chosen" : "tick";
    tick.style.left = at(point.cosine);
    const label = document.createElement("span");
    label.textContent = String(index + 1);
    tick.append(label);
    scale.append(tick);
    const item = document.createElement("li");
    item.textContent = `${index + 1}: ${pointLabel(point)}, cosine ${point.cosine.toFixed(3)}` +
      (point.tar === null ? "" : `, accepts ${(100 * point.tar).toFixed(1)}% of true pairs`) +
      (chosen ? " (used)" : "");
    if (chosen) item.className = "chosen";
    legend.append(item);
  });
  const marker = document.createElement("div");
  marker.className = "marker";
  marker.style.left = at(answer.similarity);
  marker.title = `similarity ${answer.similarity.toFixed(3)}`;
  const value = document.createElement("span");
  value.textContent = `similarity ${answer.similarity.toFixed(3)}`;
  marker.append(value);
  scale.append(marker);
  for (const [value, side] of [[low, "left"], [high, "right"]]) {
    const end = document.createElement("span");
    end.className = "end";
    end.textContent = value.toFixed(2);
    end.style[side] = "0";
    scale.append(end);
  }
  scale.setAttribute("aria-label",
    `Similarity ${answer.similarity.toFixed(3)} on a scale from ${low.toFixed(2)} to 1, ` +
    `threshold ${answer.threshold.toFixed(3)}`);
}

// ---------------------------------------------------------------- people
let peopleLoaded = false;
let pageStack = [];
let nextAfter = null;
let currentPerson = null;

async function loadPeople(after) {
  peopleLoaded = true;
  $("people-error").textContent = "";
  const query = after ? `people?limit=${PAGE_SIZE}&after=${encodeURIComponent(after)}` : `people?limit=${PAGE_SIZE}`;
  try {
    const page = await call(query);
    const body = $("people-table").querySelector("tbody");
    body.textContent = "";
    for (const person of page.people) {
      const row = document.createElement("tr");
      const current = person.faces.filter((face) => face.current).length;
      for (const text of [person.id, person.display_name || "", String(current)]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const actions = document.createElement("td");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "secondary";
      open.textContent = "Open";
      open.setAttribute("aria-label", `Open ${person.display_name || person.id}`);
      open.addEventListener("click", () => openPerson(person.id));
      actions.append(open);
      row.append(actions);
      body.append(row);
    }
    $("people-status").textContent = page.people.length
      ? `Showing ${page.people.length} ${page.people.length === 1 ? "person" : "people"}${after ? " (a later page)" : ""}.`
      : "Nobody is enrolled yet.";
    nextAfter = page.next_after;
    $("people-next").disabled = !nextAfter;
  } catch (error) {
    $("people-error").textContent = plain(error);
  }
}

async function openPerson(id) {
  $("person-error").textContent = "";
  $("enrol-result").textContent = "";
  resetRemove();
  try {
    const person = await call(`people/${encodeURIComponent(id)}`);
    if (!currentPerson || currentPerson.id !== person.id) $("enrol-files").value = "";
    currentPerson = person;
    $("person-title").textContent = person.display_name ? `${person.display_name} (${person.id})` : person.id;
    const list = $("person-faces");
    list.textContent = "";
    if (!person.faces.length) {
      const item = document.createElement("li");
      item.textContent = "No templates yet: enrol a photo below.";
      list.append(item);
    }
    for (const face of person.faces) {
      const item = document.createElement("li");
      const when = face.created_at.replace("T", " ").slice(0, 16);
      item.append(`Template ${face.id.slice(0, 8)}, enrolled ${when} UTC` +
        (face.current ? "" : " (another model: enrol again) "));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove template ${face.id.slice(0, 8)}`);
      remove.addEventListener("click", () => removeFace(person.id, face.id));
      item.append(" ", remove);
      list.append(item);
    }
    $("person-card").hidden = false;
  } catch (error) {
    $("people-error").textContent = plain(error);
  }
}

async function removeFace(personId, faceId) {
  try {
    await call(`people/${encodeURIComponent(personId)}/faces/${encodeURIComponent(faceId)}`, { method: "DELETE" });
    await openPerson(personId);
    await loadPeople(pageStack[pageStack.length - 1] || null);
  } catch (error) {
    $("person-error").textContent = plain(error);
  }
}

function resetRemove() {
  const button = $("remove-person");
  button.dataset.confirm = "";
  button.textContent = "Remove this person";
}

async function removePerson() {
  const button = $("remove-person");
  if (!currentPerson) return;
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = `Yes, remove ${currentPerson.id} and all their templates`;
    return;
  }
  try {
    await call(`people/${encodeURIComponent(currentPerson.id)}`, { method: "DELETE" });
    const removed = currentPerson.id;
    $("person-card").hidden = true;
    currentPerson = null;
    await loadPeople(pageStack[pageStack.length - 1] || null);
    $("people-status").textContent = `${removed} was removed. ${$("people-status").textContent}`;
  } catch (error) {
    $("person-error").textContent = plain(error);
  } finally {
    resetRemove();
  }
}

async function enrol(event) {
  event.preventDefault();
  if (!currentPerson) return;
  const files = [...$("enrol-files").files];
  $("person-error").textContent = "";
  $("enrol-result").textContent = "Enrolling…";
  try {
    const answer = await call(`people/${encodeURIComponent(currentPerson.id)}/faces`, {
      method: "POST",
      body: form(files.map((file) => ["images", file])),
    });
    const lines = answer.results.map((result, index) => {
      const name = files[index] ? files[index].name : `photo ${index + 1}`;
      return result.error ? `${name}: ${plain(new ApiError(result.error.code, result.error.message))}` : `${name}: enrolled.`;
    });
    $("enrol-files").value = "";
    const id = currentPerson.id;
    await openPerson(id);
    $("enrol-result").textContent = lines.join(" ");
    await loadPeople(pageStack[pageStack.length - 1] || null);
  } catch (error) {
    $("enrol-result").textContent = "";
    $("person-error").textContent = plain(error);
  }
}

async function createPerson(event) {
  event.preventDefault();
  $("create-error").textContent = "";
  const body = {};
  const id = $("person-id").value.trim();
  const name = $("person-name").value.trim();
  if (id) body.id = id;
  if (name) body.display_name = name;
  try {
    const person = await call("people", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
    });
    $("person-id").value = "";
    $("person-name").value = "";
    pageStack = [];
    await loadPeople(null);
    await openPerson(person.id);
    $("enrol-files").focus();
  } catch (error) {
    $("create-error").textContent = plain(error);
  }
}

async function identify(event) {
  event.preventDefault();
  const file = $("identify-file").files[0];
  const result = $("identify-result");
  $("identify-error").textContent = "";
  result.textContent = "Searching…";
  try {
    const answer = await call("identify", { method: "POST", body: form([["image", file], ["top_k", "5"]]) });
    result.textContent = "";
    const summary = document.createElement("p");
    const found = answer.candidates.filter((c) => c.verified);
    summary.textContent = (found.length
      ? `Found: ${found.map((c) => c.person_id).join(", ")}.`
      : answer.candidates.length ? "Nobody enrolled reaches the threshold." : "Nobody is enrolled yet.") +
      ` Threshold ${answer.threshold.toFixed(3)} for ${answer.gallery.templates} templates` +
      ` of ${answer.gallery.people} people.`;
    result.append(summary);
    if (answer.candidates.length) {
      const table = document.createElement("table");
      table.className = "candidates";
      const head = table.createTHead().insertRow();
      for (const title of ["Person", "Similarity", "Match"]) {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = title;
        head.append(th);
      }
      const body = table.createTBody();
      for (const candidate of answer.candidates) {
        const row = body.insertRow();
        row.insertCell().textContent = candidate.person_id;
        row.insertCell().textContent = candidate.similarity.toFixed(3);
        const match = row.insertCell();
        match.textContent = candidate.verified ? "yes" : "no";
        match.className = candidate.verified ? "yes" : "no";
      }
      result.append(table);
    }
  } catch (error) {
    result.textContent = "";
    $("identify-error").textContent = plain(error);
  }
}

function setupPeople() {
  $("people-first").addEventListener("click", () => { pageStack = []; loadPeople(null); });
  $("people-next").addEventListener("click", () => {
    if (!nextAfter) return;
    pageStack.push(nextAfter);
    loadPeople(nextAfter);
  });
  $("create-form").addEventListener("submit", createPerson);
  $("enrol-form").addEventListener("submit", enrol);
  $("identify-form").addEventListener("submit", identify);
  $("remove-person").addEventListener("click", removePerson);
}

document.addEventListener("DOMContentLoaded", () => {
  setupKey();
  setupTabs();
  setupSlots();
  setupPeople();
  $("compare").addEventListener("click", compare);
  $("point").addEventListener("change", () => {
    if (photos[1] && photos[2] && !$("result").hidden) compare();
  });
  loadModel(0);
});
