// The suggestion model Kith ships (issue 16 §2), written by `kith train-suggestions --swift`; do not edit by
// hand. Fitted on public and synthetic graphs only, never on people's data.

let shippedSuggestionModelJSON = #"""
    {
      "features" : [
        "resource-allocation",
        "adamic-adar",
        "common-neighbours",
        "jaccard",
        "log-candidate-degree",
        "log-viewer-degree",
        "log-three-step-paths",
        "three-step-resource-allocation",
        "resource-allocation-share",
        "three-step-share",
        "three-step-path-share",
        "adamic-adar-share",
        "log-resource-allocation-place"
      ],
      "fittedOn" : [
        "ego-facebook.edges (88234 edges)",
        "chung-lu mean degree 5, 20000 people, seed 101 (50000 edges)",
        "chung-lu mean degree 15, 20000 people, seed 101 (150000 edges)",
        "communities mean degree 5, 20000 people, seed 101 (50000 edges)",
        "communities mean degree 15, 20000 people, seed 101 (150000 edges)"
      ],
      "format" : "kith-suggestion-model-1",
      "intercept" : -5.68578732756859,
      "mean" : [
        0.08996896717603217,
        1.0030983323756513,
        4.149552439544933,
        0.07354642786410694,
        2.9375908182369357,
        2.427535504043657,
        2.379313995487778,
        0.0486816891478991,
        0.22504649931725687,
        0.15853844569744177,
        0.49595608193333696,
        0.29050318815201415,
        3.5741634787534196
      ],
      "spread" : [
        0.12337347717084729,
        2.3496495952820298,
        11.424748011696103,
        0.08962120545454705,
        1.2741787651464211,
        0.9949734897972511,
        2.3070628036232503,
        0.10467682131906832,
        0.24950335980686184,
        0.22741548898699857,
        0.3096417381448839,
        0.240892283103895,
        0.952656451641315
      ],
      "version" : "2026-12-04 shipped",
      "weights" : [
        0.0008367791531831984,
        2.306937476663093,
        -1.969074885243465,
        0.16513654334677635,
        -0.4571254523377849,
        0.18408868024543693,
        0.2632505688376869,
        -0.033398480324786595,
        -0.036268911404811824,
        0.24408810385237542,
        0.7528013268621443,
        -0.1549920061787624,
        -0.5260663365246687
      ]
    }
    """#
