Option Explicit

Private Sub Workbook_Open()
    ' Descriptions and categories for the function wizard (see module xlfrontier_functions).
    RegisterFunctions
End Sub
