// The deals board: drag a card onto another column to move the deal. The drop picks the stage in the card's own
// move form and submits it, so the server does the move exactly as without JavaScript (a lost stage answers with
// the page that asks for the reason). Without JavaScript, or from the keyboard, the card's select and button move it.
(function () {
  "use strict";
  var board = document.querySelector("[data-deal-board]");
  if (!board) { return; }
  var dragged = null;

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest("[data-deal-id]") : null;
    if (!card) { return; }
    dragged = card;
    card.classList.add("deal-card--dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
  });

  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("deal-card--dragging"); }
    dragged = null;
    board.querySelectorAll(".deal-column--over").forEach(function (column) {
      column.classList.remove("deal-column--over");
    });
  });

  function columnOf(target) {
    return target.closest ? target.closest("[data-stage-id]") : null;
  }

  board.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!column || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("deal-column--over");
  });

  board.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("deal-column--over"); }
  });

  board.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!column || !dragged) { return; }
    event.preventDefault();
    var form = dragged.querySelector("form");
    var select = form && form.querySelector("select[name=stage_id]");
    var stageId = column.getAttribute("data-stage-id");
    if (!select || select.value === stageId) { return; }
    select.value = stageId;
    column.querySelector("ol").appendChild(dragged);
    form.submit();
  });
}());
