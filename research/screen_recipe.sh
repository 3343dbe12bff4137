# Sourced by the screens that train the 2.0.0 recipe (research/screen_people.sh,
# research/screen_neighbours.sh): its data, a run trained and exported as 2.4.0 is served
# (mirror average, feature and projection joined), and the comparison of two runs on the
# held-out CelebA and in-the-wild people. Set `cache` (the prepared faces with teacher
# vectors) and `py` (the Python) before sourcing.
labelled=(orl extended_yaleb yale taiwan_frontal frll)
data=("${labelled[@]/#/--data=$cache/}"
      --data "celeba=$cache/celeba_subset" --data "celeba=$cache/celeba_aligned_small")
wild=("celeba=$cache/celeba_subset" "celeba=$cache/celeba_aligned_small"
      "$cache/frll" "$cache/taiwan_frontal")

train_recipe() {  # run directory, then any further `train` arguments
  "$py" -m training train --preset teacher --out "$1" --teacher "$cache" "${data[@]}" \
    --unlabelled "$cache/utkface" "${@:2}" --verbose 2
}

export_as_served() {  # run directory, then the served layers (default: as 2.4.0)
  local layers=("${@:2}")
  [ ${#layers[@]} -gt 0 ] || layers=(feature teacher_projection)
  "$py" -m training export --checkpoint "$1/final.keras" --out "$1/export" \
    --no-saved-model --mirror-average --embedding-layer "${layers[@]}"
}

compare_held_out() {  # reference run (its split is used), candidate run (gets the results)
  compare_exports "$1/export" "$2/export" "$1/split.json" "$2"
}

compare_exports() {  # reference export, candidate export, held-out split, results folder
  "$py" -m training compare --models "$1" "$2" --split "$3" \
    --data "celeba=$cache/celeba_subset" --out "$4/compare_celeba.json"
  "$py" -m training compare --models "$1" "$2" --split "$3" \
    --data "${wild[@]}" --impostors 200000 --out "$4/compare_wild.json"
}
